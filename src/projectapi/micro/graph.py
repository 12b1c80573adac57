"""A graph, as parsed by the project-side reader, in the form a host-side executor walks."""

from __future__ import annotations

from dataclasses import dataclass

from microtvm_kit.archive import ArchiveFormatError
from microtvm_kit.archive.graph import GraphEntry, GraphSpec, parse_graph
from microtvm_kit.safe_tar import shown_name

from .errors import SessionError


class GraphError(SessionError):
    """The graph JSON is malformed or uses something this executor cannot run."""


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
    entries: tuple[GraphEntry, ...]  # dtype names; ``dl_dtype`` gives the DLPack triple
    operators: tuple[Operator, ...]
    arg_names: tuple[str, ...]
    arg_entries: dict[str, int]
    output_entries: tuple[int, ...]

    @classmethod
    def parse(cls, text: str | bytes) -> Graph:
        """Parse graph JSON text; raise GraphError naming the first problem."""
        data = text.encode() if isinstance(text, str) else text
        try:
            spec = parse_graph(data, "graph JSON")
        except ArchiveFormatError as error:
            raise GraphError(str(error)) from None
        return cls._from_spec(spec)

    @classmethod
    def _from_spec(cls, spec: GraphSpec) -> Graph:
        """What the host walks: typed entries and the operators in order (no copies, no nops)."""
        operators = []
        for index, node in enumerate(spec.nodes):
            if node.op == "null":
                continue
            if node.op != "tvm_op":
                raise GraphError(
                    f"graph node '{shown_name(node.name)}' has unsupported op '{node.op}'"
                )
            if node.func_name in ("__nop", "__copy") or not isinstance(node.func_name, str):
                raise GraphError(
                    f"graph node '{shown_name(node.name)}' uses unsupported '{node.func_name}'"
                )
            operators.append(Operator(index, node.name, node.func_name, node.inputs, node.outputs))
        arg_names = tuple(spec.nodes[n].name for n in spec.arg_nodes)
        arg_entries = {spec.nodes[n].name: spec.nodes[n].outputs[0] for n in spec.arg_nodes}
        return cls(
            len(spec.nodes), spec.entries, tuple(operators), arg_names, arg_entries, spec.heads
        )

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
