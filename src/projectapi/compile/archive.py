"""Compile a model into a Model Library Format archive: front end, lowering, C, pack."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from projectapi.compile import driver, emit, frontends, kernels, memory, pipeline
from projectapi.compile.errors import CompileError, require
from projectapi.mlf import MLFError, pack
from projectapi.mlf.writer import TensorSpec


@dataclass(frozen=True)
class CompiledModel:
    """What ``compile`` made: the archive and a description of the model in it."""

    archive: Path
    name: str
    target: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    workspace_size_bytes: int
    constants_size_bytes: int
    kernels: tuple[str, ...]
    compiler: Mapping[str, str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the CLI's ``--json``)."""
        data = asdict(self)
        data["archive"] = str(self.archive)
        for kind in ("inputs", "outputs"):
            data[kind] = [
                {"name": t.name, "dtype": t.dtype, "shape": list(t.shape)}
                for t in getattr(self, kind)
            ]
        data["kernels"] = list(self.kernels)
        data["compiler"] = dict(self.compiler)
        return data


def compiler_record() -> dict[str, str]:
    """Which compiler made an archive (stored in its metadata.json as ``compiler``)."""
    import tvm
    import tvm_ffi

    return {
        "name": "projectapi compile",
        "tvm": tvm.__version__,
        "tvm_ffi": getattr(tvm_ffi, "__version__", "unknown"),
    }


def compile_model(
    model: Any,
    output: str | os.PathLike[str],
    *,
    example_inputs: Sequence[Any] | None = None,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    input_dtypes: Mapping[str, str] | None = None,
    target: str = "host",
    name: str = "default",
) -> CompiledModel:
    """Compile an ONNX or PyTorch model to an AOT C-interface MLF archive at ``output``.

    ``model`` is an ``.onnx`` or ``.pt2`` path, an ``onnx.ModelProto``, a ``torch.nn.Module``
    (with ``example_inputs``) or a ``torch.export.ExportedProgram``. ``input_shapes`` and
    ``input_dtypes`` fix or override ONNX inputs by name.
    """
    require("tvm", "apache-tvm")
    started = time.perf_counter()
    pipeline.make_target(target)  # refuse an unknown target before the slow steps
    relax_module = frontends.load_model(
        model, example_inputs=example_inputs, input_shapes=input_shapes, input_dtypes=input_dtypes
    )
    lowered = pipeline.lower(relax_module, target)
    return write_archive(lowered, output, name=name, target=target, started=started)


def write_archive(
    lowered: pipeline.Lowered,
    output: str | os.PathLike[str],
    *,
    name: str,
    target: str,
    started: float,
) -> CompiledModel:
    """The driver and kernel C of a lowered model, packed into an archive at ``output``."""
    adapted = kernels.adapt(lowered.kernel_source, name)
    plan = driver.plan(lowered.main)
    places = memory.layout(plan, adapted.scratch)
    record = compiler_record()
    sources = {"driver.c": emit.driver_source(name, plan, places, adapted).encode()}
    if adapted.source:
        sources["kernels.c"] = adapted.source.encode()
    constants = sum(array.nbytes for array in plan.constants)
    try:
        pack(
            Path(output),
            model_name=name,
            sources=sources,
            inputs=plan.inputs,
            outputs=plan.outputs,
            workspace_size_bytes=places.pool_bytes,
            constants_size_bytes=constants,
            target=lowered.target,
            extra_metadata={"compiler": record},
        )
    except MLFError as error:
        raise CompileError(str(error)) from None
    return CompiledModel(
        archive=Path(output),
        name=name,
        target=target,
        inputs=tuple(plan.inputs),
        outputs=tuple(plan.outputs),
        workspace_size_bytes=places.pool_bytes,
        constants_size_bytes=constants,
        kernels=tuple(sorted({kernel for kernel, _ in plan.calls})),
        compiler=record,
        seconds=time.perf_counter() - started,
    )
