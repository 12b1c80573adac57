"""Read an extracted Model Library Format tree and write the C glue a firmware links with.

The glue is ``model_glue.h``/``model_glue.c`` (tensor tables, static I/O buffers,
``projectapi_model_init`` and ``projectapi_model_run``; graph models run through the runtime's
graph executor, see ``graph_glue``) and, for archives built without a system library,
``model_registry.c``: a function registry with ``TVMSystemLibEntryPoint`` (for C-interface AOT
archives with a packed ``run`` adapter and a generated ``TVMMetadata``) so the runtime's
executors can drive every archive. Standard library only.
"""

from __future__ import annotations

import os
import pathlib
import shutil
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from . import graph_glue
from .archive import ArchiveFormatError, relay
from .archive.dtypes import element_count, item_bytes
from .archive.metadata import METADATA, DeclaredTensor, parse_metadata
from .archive.tensors import TensorSpec
from .errors import BadArchiveError

# The glue's fixed C sources and header, copied beside the generated ones.
GLUE_C_DIR = pathlib.Path(os.path.dirname(os.path.realpath(__file__))) / "c" / "glue"


class ModelGlueError(BadArchiveError):
    """The extracted model cannot be glued: the message names what is wrong with it."""


@dataclass(frozen=True)
class ModelInfo:
    """What the glue needs to know about one model in an extracted MLF."""

    name: str
    interface: str  # "c" or "packed"
    has_system_lib: bool
    inputs: Tuple[TensorSpec, ...]
    outputs: Tuple[TensorSpec, ...]
    sources: Tuple[pathlib.Path, ...]
    include_dir: Optional[pathlib.Path]
    workspace_size_bytes: int
    graph: Optional[graph_glue.GraphModel] = None  # graph-executor models only

    @property
    def mangled(self) -> str:
        """The generated code's symbol prefix, ``tvmgen_<model>``."""
        return "tvmgen_" + self.name if self.name else "tvmgen"


def _shape_or_flat(shape: Optional[Tuple[int, ...]], dtype: str, nbytes: int) -> Tuple[int, ...]:
    """Keep a known shape only if it agrees with the byte size; else 1-D [elements]."""
    if shape is not None and element_count(shape) * item_bytes(dtype) == nbytes:
        return shape
    return (nbytes // item_bytes(dtype),)


def _tensors(
    declared: Tuple[DeclaredTensor, ...], shapes: List[Optional[Tuple[int, ...]]]
) -> Tuple[TensorSpec, ...]:
    """Glue tensors: metadata's dtype and size, with the best known shape that fits them."""
    specs = []
    for index, tensor in enumerate(declared):
        if tensor.dtype is None or tensor.size is None:
            raise ModelGlueError(f"metadata.json: tensor {tensor.name!r} lacks a dtype or size")
        shape = shapes[index] if index < len(shapes) else None
        specs.append(
            TensorSpec(tensor.name, tensor.dtype, _shape_or_flat(shape, tensor.dtype, tensor.size))
        )
    return tuple(specs)


def _check_c_interface(header: pathlib.Path) -> None:
    """Refuse C-interface variants the glue cannot call (docs/generated-code.md)."""
    text = header.read_text()
    for marker, what in (
        ("_workspace_pools {", "external workspace or constant pools"),
        ("_devices {", "device contexts (C device API targets)"),
        ("_map_inputs(", "inputs/outputs placed in pools"),
    ):
        if marker in text:
            raise ModelGlueError(
                f"{header.name}: the model uses {what}, which this template cannot call; "
                "build it with internal pools on the CPU only"
            )


def read_model(model_dir: pathlib.Path) -> ModelInfo:
    """Describe the single AOT or graph model of an extracted MLF tree (TVM >= 0.11)."""
    try:
        return _read_model(model_dir)
    except ArchiveFormatError as error:
        raise ModelGlueError(str(error)) from None


def _read_model(model_dir: pathlib.Path) -> ModelInfo:
    try:
        metadata = parse_metadata((model_dir / METADATA).read_bytes())
    except OSError as error:
        raise ModelGlueError(f"cannot read the model's metadata.json: {error}") from None
    if len(metadata.models) != 1:
        raise ModelGlueError("the archive must hold exactly one full-model module")
    model = metadata.models[0]
    name = model.name
    if model.executor is None:
        raise ModelGlueError(
            f"model {name!r} uses executor {model.executor}; templates run AOT and graph models"
        )
    graph = graph_glue.read_graph(model_dir, name) if model.executor == "graph" else None
    if not model.inputs or not model.outputs:
        raise ModelGlueError("metadata.json lacks main inputs/outputs (export with TVM >= 0.11)")
    input_shapes, output_shapes = _shapes(model_dir, name, graph)
    sources = tuple(sorted((model_dir / "codegen" / "host" / "src").glob("*.c")))
    if not sources:
        raise ModelGlueError("the archive has no generated C sources in codegen/host/src")
    include_dir = model_dir / "codegen" / "host" / "include"
    header = include_dir / f"tvmgen_{name}.h".lower()
    if header.is_file():
        _check_c_interface(header)
    return ModelInfo(
        name=name,
        interface="c" if header.is_file() else "packed",
        has_system_lib=any("TVMSystemLibEntryPoint" in src.read_text() for src in sources),
        inputs=_tensors(model.inputs, [input_shapes.get(t.name) for t in model.inputs]),
        outputs=_tensors(model.outputs, output_shapes),
        sources=sources,
        include_dir=include_dir if include_dir.is_dir() else None,
        workspace_size_bytes=model.memory[0].workspace_size_bytes if model.memory else 0,
        graph=graph,
    )


def _shapes(
    model_dir: pathlib.Path, name: str, graph: Optional[graph_glue.GraphModel]
) -> Tuple[Dict[str, Tuple[int, ...]], List[Optional[Tuple[int, ...]]]]:
    """Input shapes by name and output shapes in order: from the graph, else the Relay text."""
    if graph is not None:
        return dict(graph.input_shapes), list(graph.output_shapes)
    text = model_dir / "src" / f"{name}.relay"
    if not text.is_file():
        return {}, []
    params, results = relay.main_signature(text.read_text(errors="replace"))
    inputs = {key: shape for key, (shape, _dtype) in params.items() if shape is not None}
    return inputs, [shape for shape, _dtype in results]


def _c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dtype_init(spec: TensorSpec) -> str:
    return "{%d, %d, %d}" % spec.dl_dtype


def _dims(shape: Tuple[int, ...]) -> str:
    return ", ".join(str(dim) for dim in shape)


def _tables(kind: str, specs: Tuple[TensorSpec, ...]) -> List[str]:
    """Shapes, descriptors and aligned static buffers for the inputs or the outputs."""
    lines = []
    for i, spec in enumerate(specs):
        lines.append(f"static int64_t {kind}_shape_{i}[] = {{{_dims(spec.shape)}}};")
        lines.append(
            f"static uint8_t {kind}_data_{i}[{max(spec.size_bytes, 1)}] __attribute__((aligned(16)));"
        )
    descs = [
        f"  {{{_c_string(s.name)}, {_dtype_init(s)}, {len(s.shape)}, {kind}_shape_{i}, {s.size_bytes}}}"
        for i, s in enumerate(specs)
    ] or ["  {0}"]
    lines.append(f"const projectapi_tensor_desc_t projectapi_model_{kind}s[] = {{")
    lines.append(",\n".join(descs) + "\n};")
    lines.append(f"const size_t projectapi_model_num_{kind}s = {len(specs)};")
    datas = [f"{kind}_data_{i}" for i in range(len(specs))] or ["0"]
    lines.append(f"void* const projectapi_model_{kind}_data[] = {{{', '.join(datas)}}};")
    return lines


def _c_interface_call(model: ModelInfo, in_ptrs: List[str], out_ptrs: List[str]) -> List[str]:
    """Lines that fill the C-interface structs and return the entry point's result."""
    m = model.mangled.lower()
    ins = ", ".join(f".{s.c_name} = {in_ptrs[i]}" for i, s in enumerate(model.inputs))
    outs = ", ".join(f".{s.c_name} = {out_ptrs[i]}" for i, s in enumerate(model.outputs))
    return [
        f"  struct {m}_inputs inputs = {{{ins}}};",
        f"  struct {m}_outputs outputs = {{{outs}}};",
        f"  return {model.mangled}_run(&inputs, &outputs);",
    ]


_PACKED_PROTO = (
    "int32_t {name}(TVMValue* args, int* type_codes, int num_args, TVMValue* out_value, "
    "int* out_type_code, void* resource_handle);"
)


def glue_source(model: ModelInfo) -> str:
    """``model_glue.c`` for one model: tables, buffers, ``projectapi_model_init/run``."""
    lines = [
        "/* Model glue for model " + _c_string(model.name) + ". Generated by projectapi. */",
        '#include "model_glue.h"',
        "",
        "#include <tvm/runtime/c_runtime_api.h>",
    ]
    if model.interface == "c":
        lines.append(f"#include <{model.mangled.lower()}.h>")
    lines.append("")
    lines += _tables("input", model.inputs) + _tables("output", model.outputs)
    lines.append("")
    if model.graph is not None:  # init and run are c/graph_model.c's
        return "\n".join(lines) + "\n"
    if model.interface == "packed":  # init and run are c/aot_packed_model.c's
        return "\n".join(lines) + "\n"
    in_ptrs = [f"input_data_{i}" for i in range(len(model.inputs))]
    out_ptrs = [f"output_data_{i}" for i in range(len(model.outputs))]
    lines += ["int32_t projectapi_model_init(void) { return 0; }", ""]
    lines.append("int32_t projectapi_model_run(void) {")
    lines += _c_interface_call(model, in_ptrs, out_ptrs)
    lines.append("}")
    return "\n".join(lines) + "\n"


def packed_entry_header(model: ModelInfo) -> str:
    """``aot_packed_entry.h``: what ``c/aot_packed_model.c`` calls, for one model."""
    return "\n".join(
        [
            "/* Entry point of model " + _c_string(model.name) + ". Generated by projectapi. */",
            f"#define PROJECTAPI_AOT_RUN {model.mangled}_run",
            f"#define PROJECTAPI_AOT_NUM_INPUTS {len(model.inputs)}",
            f"#define PROJECTAPI_AOT_NUM_OUTPUTS {len(model.outputs)}",
            "",
        ]
    )


def _registry_blob(names: List[str]) -> str:
    """A registry names blob as a C literal (docs/generated-code.md); the literal's NUL ends it."""
    count = len(names)
    body = "".join(name + "\\000" for name in names)
    return f'"\\{count & 0xFF:03o}\\{count >> 8:03o}{body}"'


def _tensor_infos(prefix: str, specs: Tuple[TensorSpec, ...], names: List[str]) -> List[str]:
    lines = []
    for i, spec in enumerate(specs):
        lines.append(f"static const int64_t {prefix}_shape_{i}[] = {{{_dims(spec.shape)}}};")
    infos = [
        f"  {{{_c_string(names[i])}, {prefix}_shape_{i}, {len(s.shape)}, {_dtype_init(s)}}}"
        for i, s in enumerate(specs)
    ]
    lines.append(
        f"static const struct TVMTensorInfo {prefix}[] = {{\n" + ",\n".join(infos) + "\n};"
    )
    return lines


def registry_source(model: ModelInfo) -> Optional[str]:
    """``model_registry.c`` for archives without a system library; None when they have one.

    It registers a graph model's operators, or an AOT model's ``run`` and metadata getter.
    """
    if model.has_system_lib:
        return None
    run, getter = model.mangled + "_run", model.mangled + "_get_c_metadata"
    lines = [
        "/* System library for model " + _c_string(model.name) + ". Generated by projectapi. */",
        "#include <tvm/runtime/c_backend_api.h>",
        "#include <tvm/runtime/crt/module.h>",
        "#include <tvm/runtime/metadata_types.h>",
        "",
    ]
    if model.graph is not None:
        names = funcs = list(model.graph.operator_names)
        lines += [_PACKED_PROTO.format(name=name) for name in names]
    elif model.interface == "packed":
        names = funcs = [run, getter]
        lines += [_PACKED_PROTO.format(name=name) for name in names]
    else:
        names, funcs = [run, getter], ["projectapi_packed_run", "projectapi_get_c_metadata"]
        lines += _c_interface_registry(model)
    lines += [
        "",
        "static TVMBackendPackedCFunc funcs[] = {"
        + ", ".join(f"(TVMBackendPackedCFunc){f}" for f in funcs)
        + "};",
        f"static const TVMFuncRegistry registry = {{{_registry_blob(names)}, funcs}};",
        "static const TVMModule system_lib = {&registry};",
        "",
        "const TVMModule* TVMSystemLibEntryPoint(void) { return &system_lib; }",
    ]
    return "\n".join(lines) + "\n"


def _c_interface_registry(model: ModelInfo) -> List[str]:
    """The model's parts of ``c/c_interface_adapter.h``: its TVMMetadata and the struct call."""
    n_in, n_out = len(model.inputs), len(model.outputs)
    in_ptrs = [f"((DLTensor*)args[{i}].v_handle)->data" for i in range(n_in)]
    out_ptrs = [f"((DLTensor*)args[{n_in + i}].v_handle)->data" for i in range(n_out)]
    # TVMMetadata names outputs output0, output1, ... whatever the C interface calls them.
    out_names = [f"output{i}" for i in range(n_out)]
    lines = [f"#include <{model.mangled.lower()}.h>", '#include "c_interface_adapter.h"', ""]
    lines += _tensor_infos("meta_inputs", model.inputs, [s.c_name for s in model.inputs])
    lines += _tensor_infos("meta_outputs", model.outputs, out_names)
    lines += [
        "const struct TVMMetadata projectapi_model_metadata = {",
        f"  1, meta_inputs, {n_in}, meta_outputs, {n_out}, NULL, 0, NULL, 0, "
        f"{_c_string(model.mangled)}}};",
        "",
        "int32_t projectapi_call_model(const TVMValue* args) {",
        *_c_interface_call(model, in_ptrs, out_ptrs),
        "}",
    ]
    return lines


def write_glue(model: ModelInfo, dest_dir: pathlib.Path, project_type: str) -> List[pathlib.Path]:
    """Write the glue ``project_type`` links into ``dest_dir``; return its C sources.

    ``dest_dir`` gets everything the glue is made of, generated or fixed: ``model_glue.h`` (the
    same for every model), and for ``aot_standalone`` ``model_glue.c``, which calls the model
    (graph models through ``graph_model.c`` and the system library, packed AOT models through
    ``aot_packed_model.c``); ``host_driven`` firmware needs only the system library (or a
    generated registry). Put ``dest_dir`` on the include path.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    _copy_fixed(dest_dir, "model_glue.h")
    written = []
    if project_type == "aot_standalone":
        written.append(dest_dir / "model_glue.c")
        written[-1].write_text(glue_source(model))
    if project_type == "aot_standalone" and model.graph is not None:
        sizes = ([s.size_bytes for s in model.inputs], [s.size_bytes for s in model.outputs])
        data = graph_glue.data_header(model.graph, [s.name for s in model.inputs], sizes)
        (dest_dir / graph_glue.DATA_HEADER).write_text(data)
        written.append(_copy_fixed(dest_dir, graph_glue.RUN_SOURCE))
    elif project_type == "aot_standalone" and model.interface == "packed":
        (dest_dir / "aot_packed_entry.h").write_text(packed_entry_header(model))
        written.append(_copy_fixed(dest_dir, "aot_packed_model.c"))
    registry = registry_source(model)
    if registry is not None and (project_type == "host_driven" or model.graph is not None):
        written.append(dest_dir / "model_registry.c")
        written[-1].write_text(registry)
        if model.graph is None and model.interface == "c":
            _copy_fixed(dest_dir, "c_interface_adapter.h")
            written.append(_copy_fixed(dest_dir, "c_interface_adapter.c"))
    return written


def _copy_fixed(dest_dir: pathlib.Path, name: str) -> pathlib.Path:
    """Copy the glue's fixed C file ``name`` (``c/glue/`` of this package) into ``dest_dir``."""
    target = dest_dir / name
    shutil.copy2(str(GLUE_C_DIR / name), str(target))
    return target
