"""Read an extracted Model Library Format tree and write the C glue a firmware links with.

The glue is ``model_glue.h``/``model_glue.c`` (tensor tables, static I/O buffers,
``projectapi_model_init`` and ``projectapi_model_run``; graph models run through the runtime's
graph executor, see ``graph_glue``) and, for archives built without a system library,
``model_registry.c``: a function registry with ``TVMSystemLibEntryPoint`` (for C-interface AOT
archives with a packed ``run`` adapter and a generated ``TVMMetadata``) so the runtime's
executors can drive every archive. Standard library only.
"""

from __future__ import annotations

import json
import pathlib
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from . import graph_glue
from .errors import BadArchiveError

# DLPack type codes by dtype prefix (generated-code-abi.md 9).
_DTYPE_CODES = {"int": 0, "uint": 1, "float": 2, "bfloat": 4}
_DTYPE_RE = re.compile(r"^(int|uint|float|bfloat)(\d+)$")
_RELAY_PARAM_RE = re.compile(r"%([A-Za-z0-9_.:]+): Tensor\[\(([^)]*)\), (\w+)\]")
_RELAY_TENSOR_RE = re.compile(r"Tensor\[\(([^)]*)\), (\w+)\]")


class ModelGlueError(BadArchiveError):
    """The extracted model cannot be glued: the message names what is wrong with it."""


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output as the glue sees it."""

    name: str
    dtype: str
    shape: Tuple[int, ...]
    nbytes: int

    @property
    def c_name(self) -> str:
        """The member name TVM uses in the C interface structs (every non-alphanumeric -> _)."""
        return re.sub(r"[^0-9A-Za-z]", "_", self.name)

    @property
    def dl_dtype(self) -> Tuple[int, int, int]:
        """(code, bits, lanes) of this tensor's DLPack data type."""
        return parse_dtype(self.dtype)


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


def parse_dtype(dtype: str) -> Tuple[int, int, int]:
    """Return (code, bits, lanes) for a dtype name such as ``float32``."""
    match = _DTYPE_RE.match(dtype)
    if not match:
        raise ModelGlueError(f"unsupported tensor dtype {dtype!r} (expected int/uint/float N)")
    return _DTYPE_CODES[match.group(1)], int(match.group(2)), 1


def _itemsize(dtype: str) -> int:
    return (parse_dtype(dtype)[1] + 7) // 8


def _shape_or_flat(shape: Optional[Tuple[int, ...]], dtype: str, nbytes: int) -> Tuple[int, ...]:
    """Keep a parsed shape only if it agrees with the byte size; else 1-D [elements]."""
    itemsize = _itemsize(dtype)
    if shape is not None:
        count = 1
        for dim in shape:
            count *= dim
        if count * itemsize == nbytes:
            return shape
    return (nbytes // itemsize,)


def _parse_dims(text: str) -> Optional[Tuple[int, ...]]:
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        return None


def _relay_shapes(relay_text: str) -> Tuple[Dict[str, Tuple[int, ...]], List[Tuple[int, ...]]]:
    """Input shapes by name and output shapes in order from the main function's signature."""
    start = relay_text.find("def @main(")
    if start < 0:
        return {}, []
    header = relay_text[start : relay_text.find("{", start)]
    params, _, ret = header.partition(") ->")
    inputs = {}
    for name, dims, _dtype in _RELAY_PARAM_RE.findall(params):
        parsed = _parse_dims(dims)
        if parsed is not None:
            inputs[name] = parsed
    outputs = [_parse_dims(dims) for dims, _dtype in _RELAY_TENSOR_RE.findall(ret)]
    return inputs, [shape for shape in outputs if shape is not None]


def _tensors(entries: dict, shapes: List[Optional[Tuple[int, ...]]]) -> Tuple[TensorSpec, ...]:
    specs = []
    for index, (name, info) in enumerate(entries.items()):
        shape = shapes[index] if index < len(shapes) else None
        dtype, nbytes = str(info["dtype"]), int(info["size"])
        specs.append(TensorSpec(name, dtype, _shape_or_flat(shape, dtype, nbytes), nbytes))
    return tuple(specs)


def _check_c_interface(header: pathlib.Path) -> None:
    """Refuse C-interface variants the glue cannot call (generated-code-abi.md 4.1 items 5-7)."""
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
    """Describe the single AOT model of an extracted MLF tree (version 7, TVM >= 0.11)."""
    try:
        metadata = json.loads((model_dir / "metadata.json").read_text())
    except (OSError, ValueError) as error:
        raise ModelGlueError(f"cannot read the model's metadata.json: {error}") from None
    modules = metadata.get("modules")
    if not isinstance(modules, dict) or len(modules) != 1:
        raise ModelGlueError("the archive must hold exactly one full-model module (MLF version 7)")
    name, module = next(iter(modules.items()))
    executors = module.get("executors")
    if executors not in (["aot"], ["graph"]):
        raise ModelGlueError(
            f"model {name!r} uses executor {executors}; templates run AOT and graph models"
        )
    try:
        graph = graph_glue.read_graph(model_dir, name) if executors == ["graph"] else None
    except graph_glue.GraphGlueError as error:
        raise ModelGlueError(str(error)) from None
    main = module["memory"]["functions"]["main"][0]
    if "inputs" not in main or "outputs" not in main:
        raise ModelGlueError("metadata.json lacks main inputs/outputs (export with TVM >= 0.11)")
    relay = model_dir / "src" / f"{name}.relay"
    if graph is not None:
        input_shapes, output_shapes = graph.input_shapes, list(graph.output_shapes)
    elif relay.is_file():
        input_shapes, output_shapes = _relay_shapes(relay.read_text())
    else:
        input_shapes, output_shapes = {}, []
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
        inputs=_tensors(main["inputs"], [input_shapes.get(n) for n in main["inputs"]]),
        outputs=_tensors(main["outputs"], list(output_shapes)),
        sources=sources,
        include_dir=include_dir if include_dir.is_dir() else None,
        workspace_size_bytes=int(main.get("workspace_size_bytes", 0)),
        graph=graph,
    )


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
            f"static uint8_t {kind}_data_{i}[{max(spec.nbytes, 1)}] __attribute__((aligned(16)));"
        )
    descs = [
        f"  {{{_c_string(s.name)}, {_dtype_init(s)}, {len(s.shape)}, {kind}_shape_{i}, {s.nbytes}}}"
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


def glue_header() -> str:
    """The firmware glue contract (docs/architecture.md), identical for every model."""
    return """\
/* Model glue: tensor tables and one entry point. Generated by projectapi. */
#ifndef PROJECTAPI_MODEL_GLUE_H_
#define PROJECTAPI_MODEL_GLUE_H_

#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>

typedef struct {
  const char* name;
  DLDataType dtype;
  int32_t ndim;
  const int64_t* shape;
  size_t nbytes;
} projectapi_tensor_desc_t;

extern const projectapi_tensor_desc_t projectapi_model_inputs[];
extern const size_t projectapi_model_num_inputs;
extern const projectapi_tensor_desc_t projectapi_model_outputs[];
extern const size_t projectapi_model_num_outputs;
extern void* const projectapi_model_input_data[];
extern void* const projectapi_model_output_data[];

/* Prepares the model (graph models: creates the executor and loads the parameters); cheap
 * after the first call. 0 on success. */
int32_t projectapi_model_init(void);

/* Runs the model once on the static buffers above; 0 on success. */
int32_t projectapi_model_run(void);

#endif /* PROJECTAPI_MODEL_GLUE_H_ */
"""


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
    if model.graph is not None:
        lines += graph_glue.INCLUDES
    lines.append("")
    lines += _tables("input", model.inputs) + _tables("output", model.outputs)
    lines.append("")
    if model.graph is not None:
        sizes = ([s.nbytes for s in model.inputs], [s.nbytes for s in model.outputs])
        lines += graph_glue.run_source(model.graph, [s.name for s in model.inputs], sizes)
        return "\n".join(lines) + "\n"
    lines += ["int32_t projectapi_model_init(void) { return 0; }", ""]
    in_ptrs = [f"input_data_{i}" for i in range(len(model.inputs))]
    out_ptrs = [f"output_data_{i}" for i in range(len(model.outputs))]
    if model.interface == "c":
        lines.append("int32_t projectapi_model_run(void) {")
        lines += _c_interface_call(model, in_ptrs, out_ptrs)
        lines.append("}")
        return "\n".join(lines) + "\n"
    # Packed entry point: one DLTensor per input then output, built once at compile time. The
    # generated main reads one type code per argument *and per pool*, so the code array is
    # larger than the argument count (generated-code-abi.md 5.3).
    tensors = []
    for kind, specs in (("input", model.inputs), ("output", model.outputs)):
        for i, spec in enumerate(specs):
            tensors.append(
                f"  {{{kind}_data_{i}, {{kDLCPU, 0}}, {len(spec.shape)}, {_dtype_init(spec)}, "
                f"{kind}_shape_{i}, NULL, 0}}"
            )
    count = len(tensors)
    lines += [
        _PACKED_PROTO.format(name=model.mangled + "_run"),
        "",
        f"#define PROJECTAPI_NUM_ARGS {count}",
        "#define PROJECTAPI_NUM_TYPE_CODES (PROJECTAPI_NUM_ARGS + 16)",
        "static DLTensor tensors[PROJECTAPI_NUM_ARGS] = {\n" + ",\n".join(tensors) + "\n};",
        "",
        "int32_t projectapi_model_run(void) {",
        "  TVMValue args[PROJECTAPI_NUM_ARGS];",
        "  int type_codes[PROJECTAPI_NUM_TYPE_CODES];",
        "  TVMValue ret_value;",
        "  int ret_code = kTVMNullptr;",
        "  for (int i = 0; i < PROJECTAPI_NUM_TYPE_CODES; ++i) type_codes[i] = kTVMDLTensorHandle;",
        "  for (int i = 0; i < PROJECTAPI_NUM_ARGS; ++i) args[i].v_handle = &tensors[i];",
        "  ret_value.v_handle = NULL;",
        f"  return {model.mangled}_run(args, type_codes, PROJECTAPI_NUM_ARGS, &ret_value, "
        "&ret_code, NULL);",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _registry_blob(names: List[str]) -> str:
    """A registry names blob as a C literal (crt-device-api.md 7.1); the literal's NUL ends it."""
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
        names, funcs = [run, getter], ["packed_run", "get_c_metadata"]
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
    """A packed ``run`` adapter and a ``TVMMetadata`` for a C-interface model."""
    n_in, n_out = len(model.inputs), len(model.outputs)
    in_ptrs = [f"((DLTensor*)args[{i}].v_handle)->data" for i in range(n_in)]
    out_ptrs = [f"((DLTensor*)args[{n_in + i}].v_handle)->data" for i in range(n_out)]
    # TVMMetadata names outputs output0, output1, ... whatever the C interface calls them.
    out_names = [f"output{i}" for i in range(n_out)]
    lines = [f"#include <{model.mangled.lower()}.h>", ""]
    lines += _tensor_infos("meta_inputs", model.inputs, [s.c_name for s in model.inputs])
    lines += _tensor_infos("meta_outputs", model.outputs, out_names)
    lines += [
        "static const struct TVMMetadata metadata = {",
        f"  1, meta_inputs, {n_in}, meta_outputs, {n_out}, NULL, 0, NULL, 0, "
        f"{_c_string(model.mangled)}}};",
        "",
        "static int32_t packed_run(TVMValue* args, int* type_codes, int num_args,",
        "                          TVMValue* out_value, int* out_type_code, void* resource_handle) {",
        "  (void)type_codes; (void)out_value; (void)out_type_code; (void)resource_handle;",
        f"  if (num_args < {n_in + n_out}) {{",
        f'    TVMAPISetLastError("{model.mangled}_run: expected {n_in + n_out} tensor arguments");',
        "    return -1;",
        "  }",
    ]
    lines += _c_interface_call(model, in_ptrs, out_ptrs)
    lines += [
        "}",
        "",
        "static int32_t get_c_metadata(TVMValue* args, int* type_codes, int num_args,",
        "                              TVMValue* ret_value, int* ret_code, void* resource_handle) {",
        "  (void)args; (void)type_codes; (void)num_args; (void)resource_handle;",
        "  ret_value[0].v_handle = (void*)&metadata;",
        "  ret_code[0] = kTVMOpaqueHandle;",
        "  return 0;",
        "}",
    ]
    return lines


def write_glue(model: ModelInfo, dest_dir: pathlib.Path, project_type: str) -> List[pathlib.Path]:
    """Write the glue ``project_type`` links into ``dest_dir``; return its C sources.

    ``aot_standalone`` calls the model through ``model_glue.c`` (graph models through the
    system library as well); ``host_driven`` firmware needs only the system library.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    (dest_dir / "model_glue.h").write_text(glue_header())
    written = []
    if project_type == "aot_standalone":
        written.append(dest_dir / "model_glue.c")
        written[-1].write_text(glue_source(model))
    registry = registry_source(model)
    if registry is not None and (project_type == "host_driven" or model.graph is not None):
        written.append(dest_dir / "model_registry.c")
        written[-1].write_text(registry)
    return written
