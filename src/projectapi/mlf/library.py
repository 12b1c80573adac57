"""Open a Model Library Format archive (or an extracted copy) into typed, read-only facts.

Everything ``metadata.json`` records is read from it; what it does not record (interface API,
unpacked API, system library, shapes) is recovered from the generated sources as
docs/generated-code.md describes. Names are always the metadata's (AOT's TVMMetadata calls a
single output ``output0`` where ``metadata.json`` says ``output``; the latter wins).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from microtvm_kit.archive import ArchiveFormatError, relay
from microtvm_kit.archive.dtypes import tensor_bytes
from microtvm_kit.archive.files import read_model_files
from microtvm_kit.archive.graph import GraphSpec, parse_graph
from microtvm_kit.archive.metadata import (
    METADATA,
    SUPPORTED_VERSIONS,
    DeclaredTensor,
    DeviceMemory,
    ModelEntry,
    parse_metadata,
)
from microtvm_kit.archive.metadata import (
    checked_field as _field,
)
from projectapi.mlf import csource
from projectapi.mlf.errors import MLFError
from projectapi.mlf.params import read_params

__all__ = ["METADATA", "SUPPORTED_VERSIONS", "DeviceMemory", "Model", "ModelLibrary"]
SOURCE_DIR = "codegen/host/src"
OBJECT_DIR = "codegen/host/lib"
INCLUDE_DIR = "codegen/host/include"
_SOURCE_EXTENSIONS = (".c", ".cc", ".cpp")
_DL_NAMES = {0: "int", 1: "uint", 2: "float"}

Shape = tuple[int, ...]


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output (or an operator buffer); unknown facts are None."""

    name: str
    dtype: str | None
    shape: Shape | None
    size_bytes: int | None


@dataclass(frozen=True)
class OperatorFunction:
    """A lowered operator: its C symbol, scratch need, and (operator style) its buffers."""

    name: str
    workspace_size_bytes: int
    buffers: tuple[TensorInfo, ...] = ()


@dataclass(frozen=True)
class Model:
    """One model of the archive and how to call it."""

    name: str
    executor: str | None  # "aot", "graph", or None for operator style
    interface_api: str | None  # AOT only: "c" or "packed"
    unpacked_api: bool | None  # AOT only; None if the sources do not tell
    system_lib: bool
    targets: tuple[str, ...]
    entry_points: tuple[str, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    memory: tuple[DeviceMemory, ...]
    operator_functions: tuple[OperatorFunction, ...]
    sources: tuple[str, ...]  # members under codegen/host/src and codegen/host/lib
    header: str | None  # member name of the C interface header
    graph_member: str | None
    graph: Mapping[str, Any] | None = field(repr=False)  # the parsed graph JSON
    graph_spec: GraphSpec | None = field(repr=False)  # the same, checked and typed
    params_member: str | None
    params_data: bytes | None = field(repr=False)

    @property
    def workspace_size_bytes(self) -> int:
        """Workspace over all devices."""
        return sum(entry.workspace_size_bytes for entry in self.memory)

    @property
    def constants_size_bytes(self) -> int:
        """Constants over all devices."""
        return sum(entry.constants_size_bytes for entry in self.memory)

    def params(self) -> dict[str, np.ndarray]:
        """Parse the parameters file on request (empty if there is none)."""
        return {} if self.params_data is None else read_params(self.params_data)


@dataclass(frozen=True)
class ModelLibrary:
    """A Model Library Format archive: its version, style, models and raw members."""

    path: Path
    version: int
    style: str  # "full-model" or "operator"
    models: tuple[Model, ...]
    has_runtime: bool
    has_templates: bool
    metadata: Mapping[str, Any] = field(repr=False)
    files: Mapping[str, bytes] = field(repr=False)

    def model(self, name: str | None = None) -> Model:
        """The model called ``name``, or the only model when ``name`` is None."""
        if name is None and len(self.models) == 1:
            return self.models[0]
        for model in self.models:
            if model.name == name:
                return model
        names = ", ".join(model.name for model in self.models)
        raise MLFError(f"{self.path}: no model {name!r}; the archive has: {names}")

    def text(self, member: str) -> str:
        """A member decoded as text (invalid UTF-8 replaced)."""
        return self.files[member].decode("utf-8", errors="replace")


@contextmanager
def _as_user_error(location: Path) -> Iterator[None]:
    """The reader's format errors as user errors of this package, each naming the archive."""
    try:
        yield
    except (ArchiveFormatError, MLFError) as error:
        message = str(error)
        if not message.startswith(str(location)):
            message = f"{location}: {message}"
        raise MLFError(message) from None


def open_library(path: str | os.PathLike[str]) -> ModelLibrary:
    """Read an MLF tar (plain or gzip) or extracted directory; raise MLFError if unusable."""
    location = Path(path)
    with _as_user_error(location):
        files = read_model_files(location)
        if METADATA not in files:
            raise MLFError(f"{METADATA}: missing (every Model Library Format archive has one)")
        metadata = parse_metadata(files[METADATA])
        entries = metadata.models
        style = entries[0].style
        sources = _assign_sources(files, [entry.name for entry in entries], style)
        models = tuple(
            _build_model(files, metadata.version, entry, sources[entry.name]) for entry in entries
        )
    return ModelLibrary(
        path=location,
        version=metadata.version,
        style=style,
        models=models,
        has_runtime=any(name.startswith("runtime/") for name in files),
        has_templates=any(name.startswith("templates/") for name in files),
        metadata=metadata.raw,
        files=files,
    )


def _assign_sources(
    files: Mapping[str, bytes], names: list[str], style: str
) -> dict[str, list[str]]:
    """Generated sources per model: ``<M>_lib<k>`` (``lib<k>`` for operator style).

    With a single model, every file under the code directories belongs to it.
    """
    code = sorted(
        name
        for name in files
        if name.startswith((SOURCE_DIR + "/", OBJECT_DIR + "/")) and name.count("/") == 3
    )
    assigned: dict[str, list[str]] = {name: [] for name in names}
    for member in code:
        stem = member.rsplit("/", 1)[1]
        for name in names:
            prefix = "" if style == "operator" else re.escape(name) + "_"
            if re.fullmatch(rf"{prefix}lib\d+\.(c|cc|cpp|o)", stem) or len(names) == 1:
                assigned[name].append(member)
                break
    return assigned


def _build_model(
    files: Mapping[str, bytes], version: int, model: ModelEntry, sources: list[str]
) -> Model:
    """Describe one model from its metadata entry and its files."""
    name, where, executor, style = model.name, model.where, model.executor, model.style
    entry = model.entry
    memory = _field(entry, "memory", dict, where, {})
    texts = {
        member: files[member].decode("utf-8", errors="replace")
        for member in sources
        if member.endswith(_SOURCE_EXTENSIONS)
    }
    functions = csource.functions_defined_in(texts.values())
    header = f"{INCLUDE_DIR}/tvmgen_{name.lower()}.h"
    header = header if header in files else None
    mangled = f"tvmgen_{name}" if name else "tvmgen"
    interface_api, unpacked_api = _interface(
        executor, header, functions.get(f"{mangled}___tvm_main__")
    )
    system_lib = "TVMSystemLibEntryPoint" in functions
    graph_member = (
        f"executor-config/graph/{name}.graph"
        if version == 7
        else "executor-config/graph/graph.json"
    )
    graph_member = graph_member if executor == "graph" and graph_member in files else None
    graph = parse_graph(files[graph_member], graph_member) if graph_member else None
    params_member = f"parameters/{name}.params"
    params_member = params_member if params_member in files else None
    relay_member = f"src/{name}.relay" if version == 7 else "src/relay.txt"
    relay_source = files[relay_member].decode("utf-8", "replace") if relay_member in files else ""
    if style == "operator":
        operators = _operator_style_functions(memory, where)
        inputs: tuple[TensorInfo, ...] = ()
        outputs: tuple[TensorInfo, ...] = ()
    else:
        operators = _operator_functions(memory, where)
        metadata_source = next((t for t in texts.values() if "kTvmgenMetadata" in t), "")
        inputs, outputs = _io(model, graph, metadata_source, relay_source)
    return Model(
        name=name,
        executor=executor,
        interface_api=interface_api,
        unpacked_api=unpacked_api,
        system_lib=system_lib,
        targets=_targets(_field(entry, "target", (list, dict, str), where)),
        entry_points=_entry_points(executor, mangled, functions, system_lib, operators),
        inputs=inputs,
        outputs=outputs,
        memory=model.memory,
        operator_functions=operators,
        sources=tuple(sources),
        header=header,
        graph_member=graph_member,
        graph=graph.document if graph else None,
        graph_spec=graph,
        params_member=params_member,
        params_data=files[params_member] if params_member else None,
    )


def _interface(
    executor: str | None, header: str | None, main_params: str | None
) -> tuple[str | None, bool | None]:
    """(interface API, unpacked API) of an AOT model; neither is recorded in metadata.json.

    The C interface is the one with a header; the AOT main takes typed data pointers exactly
    when the API is unpacked (docs/generated-code.md).
    """
    if executor != "aot":
        return None, None
    if main_params is not None:
        unpacked = "arg_type_ids" not in main_params and "TVMValue" not in main_params
    else:
        unpacked = True if header else None
    return ("c" if header else "packed"), unpacked


def _targets(value: list | dict | str) -> tuple[str, ...]:
    """Target strings: a list (v6, v7), an object keyed by device type (v5) or one string."""
    if isinstance(value, str):
        return (value,)
    items = value.values() if isinstance(value, dict) else value
    return tuple(str(item) for item in items)


def _entry_points(
    executor: str | None,
    mangled: str,
    functions: Mapping[str, str],
    system_lib: bool,
    operators: tuple[OperatorFunction, ...],
) -> tuple[str, ...]:
    """The symbols a caller uses: AOT run (+ metadata getter), system library, or operators."""
    points = []
    if executor == "aot":
        points.append(f"{mangled}_run")
        if f"{mangled}_get_c_metadata" in functions:
            points.append(f"{mangled}_get_c_metadata")
    elif executor is None:
        points.extend(op.name for op in operators)
        if "__tvm_main__" in functions:
            points.append("__tvm_main__")
    if system_lib:
        points.append("TVMSystemLibEntryPoint")
    return tuple(points)


def _operator_functions(memory: Mapping[str, Any], where: str) -> tuple[OperatorFunction, ...]:
    """``memory.functions.operator_functions`` of a full-model archive."""
    functions = _field(memory, "functions", dict, f"{where}memory.", {})
    path = f"{where}memory.functions.operator_functions"
    result = []
    for i, item in enumerate(
        _field(functions, "operator_functions", list, f"{where}memory.functions.", [])
    ):
        if not isinstance(item, dict):
            raise MLFError(f"{METADATA}: {path}[{i}]: expected an object")
        workspace = _field(item, "workspace", list, f"{path}[{i}].", [])
        total = sum(
            _field(ws, "workspace_size_bytes", int, f"{path}[{i}].workspace.", 0)
            for ws in workspace
            if isinstance(ws, dict)
        )
        result.append(OperatorFunction(_field(item, "function_name", str, f"{path}[{i}]."), total))
    return tuple(result)


def _operator_style_functions(
    memory: Mapping[str, Any], where: str
) -> tuple[OperatorFunction, ...]:
    """Operator style: ``memory`` maps each function to its buffers in parameter order."""
    result = []
    for function, buffers in memory.items():
        if not isinstance(buffers, list) or not all(isinstance(b, dict) for b in buffers):
            raise MLFError(f"{METADATA}: {where}memory.{function}: expected a list of buffers")
        infos = tuple(
            TensorInfo(
                name=buffer.get("input_binding") or f"arg{i}",
                dtype=buffer.get("dtype"),
                shape=tuple(buffer["shape"]) if isinstance(buffer.get("shape"), list) else None,
                size_bytes=buffer.get("size_bytes"),
            )
            for i, buffer in enumerate(buffers)
        )
        result.append(OperatorFunction(function, 0, infos))
    return tuple(result)


def graph_io_types(
    graph: GraphSpec,
) -> tuple[dict[str, tuple[Shape, str]], list[tuple[Shape, str]]]:
    """(input node name -> (shape, dtype), [(shape, dtype) per output]) of a graph."""
    inputs = {name: (entry.shape, entry.dtype) for name, entry in graph.inputs().items()}
    return inputs, [(entry.shape, entry.dtype) for entry in graph.outputs()]


def _io(
    model: ModelEntry, graph: GraphSpec | None, metadata_source: str, relay_source: str
) -> tuple[tuple[TensorInfo, ...], tuple[TensorInfo, ...]]:
    """Inputs and outputs: names, dtypes and sizes from metadata.json, shapes from the code.

    Shape sources in order: the graph JSON, the TVMMetadata tables (AOT packed), then the
    Relay text's ``@main`` signature. Archives from TVM before 0.11 have no ``inputs`` or
    ``outputs`` in metadata.json; their tensors come from those same sources.
    """
    graph_inputs, graph_outputs = graph_io_types(graph) if graph else ({}, [])
    meta_inputs = csource.metadata_tensors(metadata_source, "inputs")
    meta_outputs = csource.metadata_tensors(metadata_source, "outputs")
    meta_input_types = [_meta_type(tensor) for tensor in meta_inputs]
    meta_output_types = [_meta_type(tensor) for tensor in meta_outputs]
    relay_params, relay_results = relay.main_signature(relay_source)
    inputs, outputs = model.inputs, model.outputs
    if not inputs and not outputs:
        inputs, outputs = _undeclared_io(graph_inputs, graph_outputs, meta_inputs, meta_outputs)
    input_infos = tuple(
        _tensor(
            name,
            dtype,
            size,
            [graph_inputs.get(name), _at(meta_input_types, i), relay_params.get(name)],
        )
        for i, (name, dtype, size) in enumerate((t.name, t.dtype, t.size) for t in inputs)
    )
    output_infos = tuple(
        _tensor(
            name,
            dtype,
            size,
            [_at(graph_outputs, i), _at(meta_output_types, i), _at(relay_results, i)],
        )
        for i, (name, dtype, size) in enumerate((t.name, t.dtype, t.size) for t in outputs)
    )
    return input_infos, output_infos


def _at(items: list[Any], index: int) -> Any:
    """``items[index]``, or None past the end."""
    return items[index] if index < len(items) else None


def _tensor(name: str, dtype: str | None, size: int | None, candidates: list[Any]) -> TensorInfo:
    """A tensor whose missing shape (and dtype) come from the first source that knows them."""
    known = [found for found in candidates if found is not None]
    shape = next((found[0] for found in known if found[0] is not None), None)
    dtype = dtype or next((found[1] for found in known if found[1]), None)
    if size is None and shape is not None and dtype is not None:
        try:
            size = tensor_bytes(dtype, shape)
        except ArchiveFormatError:
            size = None
    return TensorInfo(name, dtype, shape, size)


def _meta_type(tensor: csource.MetadataTensor) -> tuple[Shape | None, str | None]:
    """(shape, dtype name) of a TVMMetadata tensor."""
    code, bits, _lanes = tensor.dl_dtype
    family = _DL_NAMES.get(code)
    return tensor.shape, f"{family}{bits}" if family else None


def _undeclared_io(
    graph_inputs: dict[str, tuple[Shape, str]],
    graph_outputs: list[tuple[Shape, str]],
    meta_inputs: list[csource.MetadataTensor],
    meta_outputs: list[csource.MetadataTensor],
) -> tuple[list[DeclaredTensor], list[DeclaredTensor]]:
    """Tensor names for archives whose metadata.json predates ``inputs``/``outputs``.

    Graph: every input node that is not a bound parameter (``p<N>``); AOT packed: the
    TVMMetadata names, a single output called ``output`` as metadata.json would.
    """
    if meta_inputs or meta_outputs:
        inputs = [DeclaredTensor(t.name, None, None) for t in meta_inputs]
        names = ["output"] if len(meta_outputs) == 1 else [t.name for t in meta_outputs]
        return inputs, [DeclaredTensor(name, None, None) for name in names]
    inputs = [
        DeclaredTensor(name, None, None) for name in graph_inputs if not re.fullmatch(r"p\d+", name)
    ]
    single = len(graph_outputs) == 1
    outputs = [
        DeclaredTensor("output" if single else f"output{i}", None, None)
        for i in range(len(graph_outputs))
    ]
    return inputs, outputs
