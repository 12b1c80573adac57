"""An opened archive as a readable summary for people or a JSON-ready dict for machines."""

from __future__ import annotations

from typing import Any

from projectapi.mlf.library import Model, ModelLibrary, TensorInfo


def to_dict(library: ModelLibrary) -> dict[str, Any]:
    """Everything ``open`` found, as plain JSON types (params summarised, not dumped)."""
    return {
        "path": str(library.path),
        "version": library.version,
        "style": library.style,
        "has_runtime": library.has_runtime,
        "has_templates": library.has_templates,
        "models": [_model_dict(model) for model in library.models],
    }


def _tensor_dict(tensor: TensorInfo) -> dict[str, Any]:
    return {
        "name": tensor.name,
        "dtype": tensor.dtype,
        "shape": None if tensor.shape is None else list(tensor.shape),
        "size_bytes": tensor.size_bytes,
    }


def _model_dict(model: Model) -> dict[str, Any]:
    return {
        "name": model.name,
        "executor": model.executor,
        "interface_api": model.interface_api,
        "unpacked_api": model.unpacked_api,
        "system_lib": model.system_lib,
        "targets": list(model.targets),
        "entry_points": list(model.entry_points),
        "inputs": [_tensor_dict(tensor) for tensor in model.inputs],
        "outputs": [_tensor_dict(tensor) for tensor in model.outputs],
        "memory": [
            {
                "device": entry.device,
                "workspace_size_bytes": entry.workspace_size_bytes,
                "constants_size_bytes": entry.constants_size_bytes,
                "io_size_bytes": entry.io_size_bytes,
            }
            for entry in model.memory
        ],
        "operator_functions": [
            {
                "name": function.name,
                "workspace_size_bytes": function.workspace_size_bytes,
                "buffers": [_tensor_dict(buffer) for buffer in function.buffers],
            }
            for function in model.operator_functions
        ],
        "sources": list(model.sources),
        "header": model.header,
        "graph": model.graph_member,
        "params": _params_summary(model),
    }


def _params_summary(model: Model) -> dict[str, Any] | None:
    """Name, dtype and shape of each stored parameter (the values stay in the archive)."""
    if model.params_member is None:
        return None
    return {
        "member": model.params_member,
        "arrays": [
            {"name": name, "dtype": str(array.dtype), "shape": list(array.shape)}
            for name, array in model.params().items()
        ],
    }


def summary(library: ModelLibrary) -> str:
    """A few lines per model: executor, interface, I/O table and memory."""
    lines = [
        f"archive    {library.path}",
        f"format     Model Library Format v{library.version}, {library.style}",
        f"runtime/   {'present' if library.has_runtime else 'absent'}",
        f"templates/ {'present' if library.has_templates else 'absent'}",
    ]
    for model in library.models:
        lines.append("")
        lines.extend(_model_lines(model))
    return "\n".join(lines)


def _model_lines(model: Model) -> list[str]:
    interface = "-"
    if model.interface_api is not None:
        unpacked = {True: " (unpacked-api)", False: " (packed operator calls)", None: ""}
        interface = f"{model.interface_api}{unpacked[model.unpacked_api]}"
    lines = [
        f"model '{model.name}'",
        f"  executor     {model.executor or 'none (operator style)'}",
        f"  interface    {interface}",
        f"  system-lib   {'yes' if model.system_lib else 'no'}",
        f"  targets      {', '.join(repr(t) for t in model.targets) or '-'}",
        f"  entry points {', '.join(model.entry_points) or '-'}",
        f"  sources      {len(model.sources)} file(s), header {model.header or '-'}",
        f"  operators    {len(model.operator_functions)}",
    ]
    for entry in model.memory:
        lines.append(
            f"  memory       device {entry.device}: workspace {entry.workspace_size_bytes:,} B, "
            f"constants {entry.constants_size_bytes:,} B, io {entry.io_size_bytes:,} B"
        )
    if model.params_member is not None:
        params = model.params()
        total = sum(array.nbytes for array in params.values())
        lines.append(f"  params       {len(params)} array(s), {total:,} B in {model.params_member}")
    rows = [("", "name", "dtype", "shape", "bytes")]
    for kind, tensors in (("input", model.inputs), ("output", model.outputs)):
        for tensor in tensors:
            rows.append((kind, tensor.name, tensor.dtype or "?", _shape(tensor), _size(tensor)))
    for function in model.operator_functions:
        for buffer in function.buffers:
            rows.append(
                (function.name, buffer.name, buffer.dtype or "?", _shape(buffer), _size(buffer))
            )
    if len(rows) > 1:
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        for row in rows:
            lines.append(
                "  "
                + "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
    return lines


def _shape(tensor: TensorInfo) -> str:
    return "?" if tensor.shape is None else "[" + ", ".join(map(str, tensor.shape)) + "]"


def _size(tensor: TensorInfo) -> str:
    return "?" if tensor.size_bytes is None else f"{tensor.size_bytes:,}"
