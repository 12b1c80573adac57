"""Graph-executor models: read the graph and its parameters, and write the C that runs them.

A standalone firmware embeds the minified graph JSON and the ``.params`` blob as constant arrays
and runs them with the runtime's device-side graph executor (``tvm/runtime/crt/graph_executor.h``).
Also sizes what the executor allocates, so firmware pools can be sized at generate time.
Standard library only, Python 3.8+.
"""

from __future__ import annotations

import json
import pathlib
import struct
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from .errors import BadArchiveError

# NDArray-list file header (model-library-format.md 6): magic, reserved, number of names.
_PARAMS_HEADER = struct.Struct("<QQQ")
_PARAMS_MAGIC = 0xF7E58D4F05049CB7
# The graph executor allocates from the platform's page allocator (256-byte pages on the boards):
# every storage block, one page per tensor view (its shape shares the allocation), and its small
# tables from a few shared blocks. Two pages per node and one per entry cover the views and the
# tables with room to spare: mnist_graph_params runs at 96% of a 128 KiB mps2-an385 this way.
_PAGE_BYTES = 256
_ALLOC_HEADER_BYTES = 64
_PAGES_PER_NODE = 2
_PAGES_PER_ENTRY = 1
_FIXED_PAGES = 16
# A host-driven session sends the graph JSON in one message: room for the call around it.
_PACKET_MARGIN_BYTES = 1024
_MIN_PACKET_BYTES = 2048  # TVM's default TVM_CRT_MAX_PACKET_SIZE_BYTES
_BYTES_PER_LINE = 16
_JSON_CHARS_PER_LINE = 96


class GraphGlueError(BadArchiveError):
    """The graph or its parameters cannot be used; the message names what is wrong."""


@dataclass(frozen=True)
class GraphModel:
    """The graph of one model as the firmware needs it."""

    json_text: str  # minified
    params: bytes  # the .params blob, empty when the parameters are linked into the code
    input_shapes: Dict[str, Tuple[int, ...]]
    output_shapes: Tuple[Tuple[int, ...], ...]
    operator_names: Tuple[str, ...]  # distinct func_name of tvm_op nodes, in graph order
    storage_bytes: Tuple[int, ...]  # per storage id
    num_nodes: int
    num_entries: int

    @property
    def packet_bytes(self) -> int:
        """A TVM_CRT_MAX_PACKET_SIZE_BYTES that carries the graph JSON in one message."""
        need = len(self.json_text.encode()) + _PACKET_MARGIN_BYTES
        return max(_MIN_PACKET_BYTES, -(-need // 1024) * 1024)

    @property
    def executor_bytes(self) -> int:
        """Upper estimate of what the device-side executor allocates (storage included)."""
        pages = sum(-(-(size + _ALLOC_HEADER_BYTES) // _PAGE_BYTES) for size in self.storage_bytes)
        pages += _PAGES_PER_NODE * self.num_nodes + _PAGES_PER_ENTRY * self.num_entries
        return (pages + _FIXED_PAGES) * _PAGE_BYTES


def _graph_file(model_dir: pathlib.Path, name: str) -> pathlib.Path:
    folder = model_dir / "executor-config" / "graph"
    for candidate in (folder / f"{name}.graph", folder / "graph.json"):
        if candidate.is_file():
            return candidate
    raise GraphGlueError(f"graph model {name!r} has no executor-config/graph/{name}.graph")


def _params(model_dir: pathlib.Path, name: str) -> bytes:
    """The parameters blob when it holds any arrays, else empty."""
    path = model_dir / "parameters" / f"{name}.params"
    if not path.is_file():
        return b""
    blob = path.read_bytes()
    if len(blob) < _PARAMS_HEADER.size or _PARAMS_HEADER.unpack_from(blob)[0] != _PARAMS_MAGIC:
        raise GraphGlueError(f"{path.name} is not an NDArray-list parameters file")
    return blob if _PARAMS_HEADER.unpack_from(blob)[2] > 0 else b""


def _nbytes(shape: Sequence[int], dtype: str) -> int:
    bits = int("".join(ch for ch in dtype if ch.isdigit()) or 0)
    count = 1
    for dim in shape:
        count *= int(dim)
    return count * ((bits + 7) // 8)


def read_graph(model_dir: pathlib.Path, name: str) -> GraphModel:
    """Read the graph JSON and parameters of model ``name`` from an extracted MLF tree."""
    path = _graph_file(model_dir, name)
    try:
        doc = json.loads(path.read_text())
        nodes = doc["nodes"]
        row_ptr = [int(x) for x in doc["node_row_ptr"]]
        shapes = [tuple(int(d) for d in s) for s in doc["attrs"]["shape"][1]]
        dtypes = [str(d) for d in doc["attrs"]["dltype"][1]]
        storage_ids = [int(s) for s in doc["attrs"]["storage_id"][1]]
        inputs = {nodes[int(i)]["name"]: shapes[row_ptr[int(i)]] for i in doc["arg_nodes"]}
        outputs = tuple(shapes[row_ptr[int(h[0])] + int(h[1])] for h in doc["heads"])
        operators = [n["attrs"]["func_name"] for n in nodes if n["op"] == "tvm_op"]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise GraphGlueError(f"{path.name} is not a usable graph: {error!r}") from None
    if not len(shapes) == len(dtypes) == len(storage_ids) == row_ptr[-1]:
        raise GraphGlueError(f"{path.name}: the attrs must describe all {row_ptr[-1]} entries")
    storage: Dict[int, int] = {}
    for index, sid in enumerate(storage_ids):
        storage[sid] = max(storage.get(sid, 0), _nbytes(shapes[index], dtypes[index]))
    return GraphModel(
        json_text=json.dumps(doc, separators=(",", ":")),
        params=_params(model_dir, name),
        input_shapes=inputs,
        output_shapes=outputs,
        operator_names=tuple(dict.fromkeys(op for op in operators if not op.startswith("__"))),
        storage_bytes=tuple(storage[sid] for sid in sorted(storage)),
        num_nodes=len(nodes),
        num_entries=len(shapes),
    )


def _string_literal(text: str) -> List[str]:
    """``text`` as concatenated C string literals, one short line each (ASCII kept readable)."""
    pieces = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            pieces.append("\\" + ch)
        elif 32 <= code < 127 and ch != "?":  # no trigraphs
            pieces.append(ch)
        else:
            pieces.extend("\\%03o" % byte for byte in ch.encode())
    lines, line = [], ""
    for piece in pieces:
        if len(line) + len(piece) > _JSON_CHARS_PER_LINE:
            lines.append('    "' + line + '"')
            line = ""
        line += piece
    lines.append('    "' + line + '"')
    return lines


def _byte_array(data: bytes) -> List[str]:
    return [
        "    " + ", ".join("0x%02x" % b for b in data[i : i + _BYTES_PER_LINE]) + ","
        for i in range(0, len(data), _BYTES_PER_LINE)
    ]


def run_source(
    graph: GraphModel, input_names: Sequence[str], nbytes: Tuple[List[int], List[int]]
) -> List[str]:
    """C lines defining ``projectapi_model_init/run`` over the device-side graph executor.

    ``nbytes`` gives the byte size of each glue input and output buffer (``input_data_<i>``,
    ``output_data_<i>``, defined before these lines).
    """
    in_bytes, out_bytes = nbytes
    lines = ["static const char graph_json[] =", *_string_literal(graph.json_text)]
    lines[-1] += ";"
    if graph.params:
        lines.append(
            "static const uint8_t graph_params[%d] __attribute__((aligned(16))) = {"
            % len(graph.params)
        )
        lines += [*_byte_array(graph.params), "};"]
    names = ", ".join(
        '"%s"' % name.replace("\\", "\\\\").replace('"', '\\"') for name in input_names
    )
    lines += [
        "",
        "static TVMGraphExecutor* executor;",
        "static const char* const input_names[] = {%s};" % (names or "0"),
        "static const size_t input_nbytes[] = {%s};" % (", ".join(map(str, in_bytes)) or "0"),
        "static const size_t output_nbytes[] = {%s};" % (", ".join(map(str, out_bytes)) or "0"),
        "static TVMNDArray* inputs[%d];" % max(len(in_bytes), 1),
        "static TVMNDArray* outputs[%d];" % max(len(out_bytes), 1),
        "",
        "/* Creates the executor once: graph, parameters, and the input and output arrays. */",
        "int32_t projectapi_model_init(void) {",
        "  static const DLDevice cpu = {kDLCPU, 0};",
        "  TVMFunctionHandle get_syslib = NULL;",
        "  TVMValue syslib;",
        "  int syslib_code = kTVMNullptr;",
        "  if (executor != NULL) return 0;",
        "  if (TVMInitializeRuntime() != kTvmErrorNoError ||",
        '      TVMFuncGetGlobal("runtime.SystemLib", &get_syslib) != 0 ||',
        "      TVMFuncCall(get_syslib, NULL, NULL, 0, &syslib, &syslib_code) != 0 ||",
        "      TVMGraphExecutor_Create(graph_json, sizeof(graph_json) - 1, syslib.v_handle, cpu,",
        "                              &executor) != 0) {",
        "    executor = NULL;",
        "    return -1;",
        "  }",
    ]
    if graph.params:
        lines += [
            "  if (TVMGraphExecutor_LoadParams(executor, (const char*)graph_params,",
            "                                  sizeof(graph_params)) != 0) {",
            "    goto fail;",
            "  }",
        ]
    lines += [
        "  for (size_t i = 0; i < projectapi_model_num_inputs; ++i) {",
        "    inputs[i] = TVMGraphExecutor_GetInput(executor,",
        "                                          TVMGraphExecutor_GetInputIndex(executor, input_names[i]));",
        "    if (inputs[i] == NULL ||",
        "        (size_t)TVMNDArray_DataSizeBytes(&inputs[i]->dl_tensor) != input_nbytes[i]) {",
        "      goto fail;",
        "    }",
        "  }",
        "  for (size_t i = 0; i < projectapi_model_num_outputs; ++i) {",
        "    outputs[i] = TVMGraphExecutor_GetOutput(executor, (int)i);",
        "    if (outputs[i] == NULL ||",
        "        (size_t)TVMNDArray_DataSizeBytes(&outputs[i]->dl_tensor) != output_nbytes[i]) {",
        "      goto fail;",
        "    }",
        "  }",
        "  return 0;",
        "fail:",
        "  if (TVMGetLastError()[0] == '\\0') TVMAPISetLastError(\"the graph does not match the model's tensors\");",
        "  TVMGraphExecutor_Release(executor);",
        "  executor = NULL;",
        "  return -1;",
        "}",
        "",
        "int32_t projectapi_model_run(void) {",
        "  int32_t status = projectapi_model_init();",
        "  if (status != 0) return status;",
        "  for (size_t i = 0; i < projectapi_model_num_inputs; ++i) {",
        "    memcpy(inputs[i]->dl_tensor.data, projectapi_model_input_data[i], input_nbytes[i]);",
        "  }",
        "  status = TVMGraphExecutor_Run(executor);",
        "  if (status != 0) return status;",
        "  for (size_t i = 0; i < projectapi_model_num_outputs; ++i) {",
        "    memcpy(projectapi_model_output_data[i], outputs[i]->dl_tensor.data, output_nbytes[i]);",
        "  }",
        "  return 0;",
        "}",
    ]
    return lines


INCLUDES = [
    "#include <string.h>",
    "",
    "#include <tvm/runtime/crt/crt.h>",
    "#include <tvm/runtime/crt/graph_executor.h>",
]
