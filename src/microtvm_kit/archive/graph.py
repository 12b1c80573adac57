"""TVM graph JSON (``executor-config/graph/<M>.graph``), parsed and checked once (docs/mlf.md).

Every node output is an *entry* with a shape, a dtype and a storage block; ``node_row_ptr``
gives each node's first entry. ``parse_graph`` checks that every reference resolves, so users of
a ``GraphSpec`` index it without further checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .dtypes import element_count, item_bytes, parse_dtype
from .errors import ArchiveFormatError
from .metadata import load_json_object


@dataclass(frozen=True)
class GraphEntry:
    """One node output: its tensor type and storage block."""

    shape: Tuple[int, ...]
    dtype: str
    storage_id: int

    @property
    def dl_dtype(self) -> Tuple[int, int, int]:
        """(code, bits, lanes) of the entry's DLPack data type."""
        return parse_dtype(self.dtype)

    @property
    def nbytes(self) -> int:
        """Bytes of the entry's tensor in memory."""
        return element_count(self.shape) * item_bytes(self.dtype)


@dataclass(frozen=True)
class GraphNode:
    """A node: ``op`` is ``"null"`` (input or parameter) or ``"tvm_op"`` (an operator call)."""

    name: str
    op: str
    func_name: Optional[str]
    inputs: Tuple[int, ...]  # entry ids
    outputs: Tuple[int, ...]  # entry ids


@dataclass(frozen=True)
class GraphSpec:
    """A checked graph: nodes, entries, argument nodes and output entries."""

    nodes: Tuple[GraphNode, ...]
    entries: Tuple[GraphEntry, ...]
    arg_nodes: Tuple[int, ...]
    heads: Tuple[int, ...]  # entry ids
    minified: str  # the JSON without whitespace, as a firmware embeds it
    document: Mapping[str, Any] = field(repr=False)  # the parsed JSON object itself

    def inputs(self) -> Dict[str, GraphEntry]:
        """Argument node name (model input or bound parameter) -> its entry."""
        return {self.nodes[n].name: self.entries[self.nodes[n].outputs[0]] for n in self.arg_nodes}

    def outputs(self) -> Tuple[GraphEntry, ...]:
        """The entries of the graph's outputs, in order."""
        return tuple(self.entries[entry] for entry in self.heads)

    def operator_names(self) -> Tuple[str, ...]:
        """Distinct ``func_name`` of the operator nodes, in graph order."""
        names = (node.func_name for node in self.nodes if node.op == "tvm_op" and node.func_name)
        return tuple(dict.fromkeys(names))

    def storage_bytes(self) -> Dict[int, int]:
        """Storage id -> bytes of the largest entry placed in it."""
        sizes: Dict[int, int] = {}
        for entry in self.entries:
            sizes[entry.storage_id] = max(sizes.get(entry.storage_id, 0), entry.nbytes)
        return sizes


def parse_graph(data: bytes, member: str) -> GraphSpec:
    """Parse graph JSON; raise ``ArchiveFormatError`` naming ``member`` and the first problem."""
    doc = load_json_object(data, member)
    try:
        return _graph(doc, member)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        if isinstance(error, ArchiveFormatError):
            raise
        raise ArchiveFormatError(
            f"{member}: malformed graph JSON ({type(error).__name__}: {error})"
        ) from None


def _graph(doc: Dict[str, Any], member: str) -> GraphSpec:
    nodes = _list(doc["nodes"], "nodes")
    row_ptr = [_int(x) for x in _list(doc["node_row_ptr"], "node_row_ptr")]
    if len(row_ptr) != len(nodes) + 1 or row_ptr[0] != 0 or row_ptr != sorted(row_ptr):
        raise ArchiveFormatError(
            f"{member}: node_row_ptr has {len(row_ptr)} items, expected {len(nodes) + 1} "
            "(nodes + 1) rising from 0"
        )
    attrs = doc["attrs"]
    shapes = _list(attrs["shape"][1], "attrs.shape")
    dtypes = _list(attrs["dltype"][1], "attrs.dltype")
    storage = _list(attrs["storage_id"][1], "attrs.storage_id")
    count = row_ptr[-1]
    if not len(shapes) == len(dtypes) == len(storage) == count:
        raise ArchiveFormatError(f"{member}: graph attrs must describe all {count} node entries")
    for dtype in dtypes:
        try:
            parse_dtype(dtype)
        except ArchiveFormatError as error:
            raise ArchiveFormatError(f"{member}: {error}") from None
    entries = tuple(
        GraphEntry(tuple(_int(d) for d in _list(shapes[i], "a shape")), dtypes[i], _int(storage[i]))
        for i in range(count)
    )

    def entry_id(ref: Sequence[Any]) -> int:
        node, index = _int(ref[0]), _int(ref[1])
        if not (0 <= node < len(nodes) and 0 <= index < row_ptr[node + 1] - row_ptr[node]):
            raise ArchiveFormatError(f"{member}: refers to a missing node output {list(ref[:2])}")
        return row_ptr[node] + index

    parsed = tuple(
        GraphNode(
            name=str(node["name"]),
            op=str(node["op"]),
            func_name=(node.get("attrs") or {}).get("func_name")
            if node["op"] == "tvm_op"
            else None,
            inputs=tuple(entry_id(ref) for ref in node.get("inputs", [])),
            outputs=tuple(range(row_ptr[i], row_ptr[i + 1])),
        )
        for i, node in enumerate(nodes)
    )
    arg_nodes = tuple(_int(n) for n in _list(doc["arg_nodes"], "arg_nodes"))
    if any(not 0 <= n < len(nodes) or not parsed[n].outputs for n in arg_nodes):
        raise ArchiveFormatError(f"{member}: arg_nodes names a missing node")
    heads = tuple(entry_id(ref) for ref in _list(doc["heads"], "heads"))
    return GraphSpec(parsed, entries, arg_nodes, heads, json.dumps(doc, separators=(",", ":")), doc)


def _list(value: Any, what: str) -> List[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{what} is not a list")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r:.40}")
    return value
