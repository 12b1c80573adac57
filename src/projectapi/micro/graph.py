"""TVM graph JSON (executor-config/graph/*.graph) read into what a host-side executor needs."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from ..mlf.dtypes import dl_dtype
from ..mlf.errors import MLFError
from .errors import SessionError
from .rpc_codec import DataType


class GraphError(SessionError):
    """The graph JSON is malformed or uses something this executor cannot run."""


@dataclass(frozen=True)
class Entry:
    """One node output (a node entry): its tensor type and storage block."""

    shape: tuple[int, ...]
    dtype: DataType
    storage_id: int

    @property
    def nbytes(self) -> int:
        """Bytes of the entry's tensor."""
        return math.prod(self.shape) * self.dtype.itemsize


@dataclass(frozen=True)
class Operator:
    """An operator node: its index among all nodes, its C function, input and output entry ids."""

    node: int
    name: str
    func_name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class Graph:
    """A parsed graph: entries, operators in execution order, named inputs, outputs."""

    num_nodes: int
    entries: tuple[Entry, ...]
    operators: tuple[Operator, ...]
    arg_names: tuple[str, ...]
    arg_entries: dict[str, int]
    output_entries: tuple[int, ...]

    @classmethod
    def parse(cls, text: str | bytes) -> Graph:
        """Parse graph JSON text; raise GraphError naming the first problem."""
        try:
            doc = json.loads(text)
            return cls._from_doc(doc)
        except json.JSONDecodeError as error:
            raise GraphError(f"graph JSON is not valid JSON: {error}") from None
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise GraphError(f"graph JSON is malformed: {error!r}") from None

    @classmethod
    def _from_doc(cls, doc: dict[str, Any]) -> Graph:
        nodes = doc["nodes"]
        row_ptr = [int(x) for x in doc["node_row_ptr"]]
        if len(row_ptr) != len(nodes) + 1:
            raise GraphError(
                f"node_row_ptr has {len(row_ptr)} items, expected {len(nodes) + 1} (nodes + 1)"
            )
        attrs = doc["attrs"]
        shapes = attrs["shape"][1]
        dtypes = attrs["dltype"][1]
        storage = attrs["storage_id"][1]
        count = row_ptr[-1]
        if not len(shapes) == len(dtypes) == len(storage) == count:
            raise GraphError(f"graph attrs must describe all {count} node entries")
        try:
            entries = tuple(
                Entry(tuple(int(d) for d in shape), DataType(*dl_dtype(dtype)), int(sid))
                for shape, dtype, sid in zip(shapes, dtypes, storage, strict=True)
            )
        except MLFError as error:
            raise GraphError(f"graph JSON: {error}") from None

        def entry_id(ref: list[int]) -> int:
            node, index = int(ref[0]), int(ref[1])
            if not (0 <= node < len(nodes) and 0 <= index < row_ptr[node + 1] - row_ptr[node]):
                raise GraphError(f"graph JSON refers to a missing node output {ref[:2]}")
            return row_ptr[node] + index

        operators = []
        for index, node in enumerate(nodes):
            if node["op"] == "null":
                continue
            if node["op"] != "tvm_op":
                raise GraphError(f"graph node '{node['name']}' has unsupported op '{node['op']}'")
            func_name = node["attrs"]["func_name"]
            if func_name in ("__nop", "__copy"):
                raise GraphError(f"graph node '{node['name']}' uses unsupported '{func_name}'")
            outputs = tuple(range(row_ptr[index], row_ptr[index + 1]))
            inputs = tuple(entry_id(ref) for ref in node["inputs"])
            operators.append(Operator(index, node["name"], func_name, inputs, outputs))
        arg_names = tuple(nodes[int(i)]["name"] for i in doc["arg_nodes"])
        arg_entries = {nodes[int(i)]["name"]: row_ptr[int(i)] for i in doc["arg_nodes"]}
        outputs = tuple(entry_id(ref) for ref in doc["heads"])
        return cls(len(nodes), entries, tuple(operators), arg_names, arg_entries, outputs)

    def storage_sizes(self) -> list[int]:
        """Bytes per storage id: the largest entry using it, rounded up to 4 (float32 units)."""
        sizes: dict[int, int] = {}
        for entry in self.entries:
            sizes[entry.storage_id] = max(sizes.get(entry.storage_id, 0), entry.nbytes)
        if sorted(sizes) != list(range(len(sizes))):
            raise GraphError("graph storage ids must be 0, 1, 2, ... without gaps")
        return [4 * -(-sizes[sid] // 4) for sid in range(len(sizes))]

    def arg_entry(self, name: str) -> int:
        """The entry id of graph input or parameter ``name``."""
        try:
            return self.arg_entries[name]
        except KeyError:
            raise GraphError(
                f"the graph has no input or parameter '{name}'; "
                f"its inputs are {', '.join(self.arg_names)}"
            ) from None
