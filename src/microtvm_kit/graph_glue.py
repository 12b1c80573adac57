"""Graph-executor models: read the graph and its parameters, and write the data that runs them.

A standalone firmware embeds the minified graph JSON and the ``.params`` blob as constant arrays
(``graph_model_data.h``, generated) and runs them with ``graph_model.c`` (copied into the glue folder) over the runtime's
device-side graph executor (``tvm/runtime/crt/graph_executor.h``).
Also sizes what the executor allocates, so firmware pools can be sized at generate time.
Standard library only, Python 3.8+.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from .archive import ArchiveFormatError
from .archive.graph import parse_graph
from .archive.params import index_params

# The C that runs a graph model on the device, in the firmware's c/ folder.
RUN_SOURCE = "graph_model.c"
DATA_HEADER = "graph_model_data.h"
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
    raise ArchiveFormatError(f"graph model {name!r} has no executor-config/graph/{name}.graph")


def _params(model_dir: pathlib.Path, name: str) -> bytes:
    """The parameters blob when it holds any arrays, else empty."""
    path = model_dir / "parameters" / f"{name}.params"
    if not path.is_file():
        return b""
    blob = path.read_bytes()
    try:
        count = len(index_params(blob))
    except ArchiveFormatError as error:
        raise ArchiveFormatError(f"parameters/{path.name}: {error}") from None
    return blob if count > 0 else b""


def read_graph(model_dir: pathlib.Path, name: str) -> GraphModel:
    """Read the graph JSON and parameters of model ``name`` from an extracted MLF tree."""
    path = _graph_file(model_dir, name)
    spec = parse_graph(path.read_bytes(), path.relative_to(model_dir).as_posix())
    storage = spec.storage_bytes()
    return GraphModel(
        json_text=spec.minified,
        params=_params(model_dir, name),
        input_shapes={key: entry.shape for key, entry in spec.inputs().items()},
        output_shapes=tuple(entry.shape for entry in spec.outputs()),
        operator_names=tuple(op for op in spec.operator_names() if not op.startswith("__")),
        storage_bytes=tuple(storage[sid] for sid in sorted(storage)),
        num_nodes=len(spec.nodes),
        num_entries=len(spec.entries),
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


def data_header(
    graph: GraphModel, input_names: Sequence[str], nbytes: Tuple[List[int], List[int]]
) -> str:
    """``graph_model_data.h``: what ``graph_model.c`` (copied into the glue folder) runs, for one model.

    The minified graph JSON, the parameters (when not linked into the code), the input names
    and the byte size of each glue input and output buffer.
    """
    in_bytes, out_bytes = nbytes
    lines = [
        "/* Graph of one model, for graph_model.c only. Generated by projectapi. */",
        "#define PROJECTAPI_GRAPH_NUM_INPUTS %d" % len(in_bytes),
        "#define PROJECTAPI_GRAPH_NUM_OUTPUTS %d" % len(out_bytes),
        "#define PROJECTAPI_GRAPH_HAS_PARAMS %d" % (1 if graph.params else 0),
        "",
        "static const char graph_json[] =",
        *_string_literal(graph.json_text),
    ]
    lines[-1] += ";"
    if graph.params:
        lines.append(
            "static const uint8_t graph_params[%d] __attribute__((aligned(16))) = {"
            % len(graph.params)
        )
        lines += [*_byte_array(graph.params), "};"]
    names = ", ".join(
        " ".join(part.strip() for part in _string_literal(name)) for name in input_names
    )
    lines += [
        "static const char* const input_names[] = {%s};" % (names or "0"),
        "static const size_t input_nbytes[] = {%s};" % (", ".join(map(str, in_bytes)) or "0"),
        "static const size_t output_nbytes[] = {%s};" % (", ".join(map(str, out_bytes)) or "0"),
    ]
    return "\n".join(lines) + "\n"
