"""Model files and PyTorch modules into a Relax module with static shapes.

ONNX files go through TVM's ONNX importer, PyTorch through ``torch.export`` (an ``nn.Module``
with example inputs, or an ExportedProgram saved with ``torch.export.save`` as ``.pt2``).
Unsupported operators and dynamic shapes are refused here, naming the operator and the node.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from projectapi.compile.errors import CompileError, require, summary

Shapes = Mapping[str, Sequence[int]]
Dtypes = Mapping[str, str]


def load_model(
    model: Any,
    *,
    example_inputs: Sequence[Any] | None = None,
    input_shapes: Shapes | None = None,
    input_dtypes: Dtypes | None = None,
) -> Any:
    """A Relax IRModule for an ONNX path or ModelProto, a ``.pt2`` path or an ``nn.Module``."""
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.is_file():
            raise CompileError(f"{path}: no such model file")
        if path.suffix == ".onnx":
            return _from_onnx(_read_onnx(path), input_shapes or {}, input_dtypes or {})
        if path.suffix == ".pt2":
            _refuse_overrides(input_shapes, input_dtypes, "a .pt2 file")
            return _from_exported(_read_pt2(path), str(path))
        raise CompileError(
            f"{path}: expected an ONNX (.onnx) or PyTorch ExportedProgram (.pt2) file"
        )
    kind = type(model).__module__.split(".")[0]
    if kind == "onnx":
        return _from_onnx(model, input_shapes or {}, input_dtypes or {})
    if kind == "torch" or _is_torch_module(model):
        _refuse_overrides(input_shapes, input_dtypes, "a PyTorch model")
        return _from_torch(model, example_inputs)
    raise CompileError(
        f"cannot compile a {type(model).__name__}: give an .onnx or .pt2 path, an onnx.ModelProto, "
        "a torch.nn.Module with example inputs, or a torch.export.ExportedProgram"
    )


def _refuse_overrides(shapes: Shapes | None, dtypes: Dtypes | None, what: str) -> None:
    if shapes or dtypes:
        raise CompileError(
            f"input shapes and dtypes of {what} come from its example inputs; "
            "--input-shape and --input-dtype apply to ONNX models only"
        )


def _is_torch_module(model: Any) -> bool:
    return any(cls.__module__.startswith("torch.") for cls in type(model).__mro__)


# ONNX


def _read_onnx(path: Path) -> Any:
    require("onnx", "onnx")
    import onnx

    try:
        return onnx.load(str(path))
    except Exception as error:
        raise CompileError(f"{path}: not a readable ONNX model ({error})") from None


def _onnx_inputs(graph: Any, shapes: Shapes, dtypes: Dtypes) -> tuple[dict, dict]:
    """Shape and dtype of every real graph input (not an initializer), overrides applied."""
    import onnx

    initialized = {init.name for init in graph.initializer}
    inputs = [value for value in graph.input if value.name not in initialized]
    names = {value.name for value in inputs}
    for name in (*shapes, *dtypes):
        if name not in names:
            raise CompileError(
                f"--input-shape/--input-dtype name '{name}' is not a model input; "
                f"inputs are: {', '.join(sorted(names))}"
            )
    shape_dict, dtype_dict = {}, {}
    for value in inputs:
        tensor = value.type.tensor_type
        if value.name in shapes:
            shape = [int(dim) for dim in shapes[value.name]]
        else:
            shape = []
            for index, dim in enumerate(tensor.shape.dim):
                if not dim.HasField("dim_value") or dim.dim_value <= 0:
                    label = dim.dim_param or "unknown"
                    raise CompileError(
                        f"input '{value.name}' has a dynamic dimension {index} ({label}): "
                        f"fix it with --input-shape {value.name}=D0,D1,..."
                    )
                shape.append(dim.dim_value)
        if any(dim <= 0 for dim in shape):
            raise CompileError(f"input '{value.name}': shape {shape} must be positive")
        shape_dict[value.name] = shape
        dtype_dict[value.name] = dtypes.get(value.name) or str(
            onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        )
    return shape_dict, dtype_dict


def _check_onnx_operators(graph: Any) -> None:
    """Refuse nodes TVM's importer has no converter for, naming each operator and node."""
    from tvm.relax.frontend.onnx import onnx_frontend

    known = set(onnx_frontend._get_convert_map()) | {"Constant", "If"}
    missing = [
        (node.op_type, node.name or f"#{i}")
        for i, node in enumerate(graph.node)
        if node.op_type not in known
    ]
    if missing:
        listed = ", ".join(f"{op} (node {name})" for op, name in missing)
        raise CompileError(f"unsupported ONNX operator: {listed}")


def _from_onnx(model: Any, shapes: Shapes, dtypes: Dtypes) -> Any:
    require("tvm", "apache-tvm")
    from tvm.relax.frontend.onnx import from_onnx

    shape_dict, dtype_dict = _onnx_inputs(model.graph, shapes, dtypes)
    _check_onnx_operators(model.graph)
    try:
        return from_onnx(
            model, shape_dict=shape_dict, dtype_dict=dtype_dict, keep_params_in_input=False
        )
    except Exception as error:
        raise CompileError(f"the ONNX importer refused the model: {summary(error)}") from None


# PyTorch


def _read_pt2(path: Path) -> Any:
    require("torch", "torch")
    import torch

    try:
        return torch.export.load(str(path))
    except Exception as error:
        raise CompileError(f"{path}: not a torch.export ExportedProgram ({error})") from None


def _from_torch(model: Any, example_inputs: Sequence[Any] | None) -> Any:
    import torch

    if isinstance(model, torch.export.ExportedProgram):
        return _from_exported(model, "the ExportedProgram")
    if not isinstance(model, torch.nn.Module):
        raise CompileError(f"cannot compile a {type(model).__name__}: expected a torch.nn.Module")
    if not example_inputs:
        raise CompileError("a torch.nn.Module needs example_inputs (a tuple of tensors)")
    try:
        exported = torch.export.export(model.eval(), tuple(example_inputs))
    except Exception as error:
        raise CompileError(f"torch.export could not export the model: {summary(error)}") from None
    return _from_exported(exported, type(model).__name__)


def _from_exported(exported: Any, what: str) -> Any:
    require("tvm", "apache-tvm")
    from tvm.relax.frontend.torch import from_exported_program

    try:
        return from_exported_program(exported, keep_params_as_input=False)
    except Exception as error:
        raise CompileError(f"TVM's PyTorch importer refused {what}: {summary(error)}") from None
