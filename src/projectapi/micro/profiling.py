"""Per-operator on-device time of a graph model: measuring, the Profile, its table and JSON.

Every figure is the device's own timer, so RPC overhead is never part of it. Each operator and
the whole run are measured ``repeat`` times, interleaved so that both see the same machine load,
and the fastest measurement of each counts (see docs/profiling.md).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ProfilingUnavailable, ProtocolError, SessionError
from .graph import Graph, Operator
from .rpc import RemoteModule

DEFAULT_REPEAT = 20
"""Measurements per operator and of the whole run; the fastest of them counts."""

DEVICE_GRAPH = "graph executor on the device"
HOST_GRAPH_WALK = "graph walked on the host"

AOT_UNAVAILABLE = (
    "per-operator profiling is not available for AOT models: the generated main function "
    "passes each operator pointers into the model's workspace and constant pools, which only "
    "the generated code knows, so an operator cannot be called on its own; time the whole model "
    "with --benchmark, or build the model with the graph executor to profile its operators"
)
RUN_PROFILE_UNAVAILABLE = (
    "the device's graph executor has no 'run_profile' function (TVM's runtime lacks it); "
    "profile with the graph walked on the host instead (--graph-executor host, or "
    "create_host_graph_executor)"
)


@dataclass(frozen=True)
class OperatorTime:
    """On-device seconds of one operator call (the fastest of the measurements)."""

    name: str
    func_name: str
    seconds: float


@dataclass(frozen=True)
class Profile:
    """On-device time per operator of one graph run, and of the whole run measured alike.

    ``operators`` are in execution order; ``whole_run`` is the fastest whole run, timed by the
    same device timer in the same measurement rounds as the operators.
    """

    executor: str
    operators: tuple[OperatorTime, ...]
    whole_run: float
    repeat: int

    @classmethod
    def from_rounds(
        cls,
        executor: str,
        operators: Sequence[Operator],
        rounds: Sequence[tuple[Sequence[float], float]],
    ) -> Profile:
        """Fastest time per operator and fastest whole run over ``(op times, whole)`` rounds."""
        rows = tuple(
            OperatorTime(op.name, op.func_name, min(times[i] for times, _ in rounds))
            for i, op in enumerate(operators)
        )
        return cls(executor, rows, min(whole for _, whole in rounds), len(rounds))

    @property
    def total(self) -> float:
        """Sum of the operator times."""
        return sum(op.seconds for op in self.operators)

    @property
    def total_to_whole_run(self) -> float:
        """``total / whole_run``: 1.0 when the operators account for the whole run exactly."""
        return self.total / self.whole_run if self.whole_run > 0 else float("nan")

    def share(self, op: OperatorTime) -> float:
        """The fraction of ``total`` spent in ``op``."""
        return op.seconds / self.total if self.total > 0 else 0.0

    def by_time(self) -> tuple[OperatorTime, ...]:
        """Operators, slowest first (execution order among equal times)."""
        return tuple(sorted(self.operators, key=lambda op: -op.seconds))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: seconds everywhere, operators in execution order."""
        return {
            "executor": self.executor,
            "statistic": f"fastest of {self.repeat}",
            "operators": [
                {
                    "name": op.name,
                    "function": op.func_name,
                    "seconds": op.seconds,
                    "share": self.share(op),
                }
                for op in self.operators
            ],
            "operators_total_seconds": self.total,
            "whole_run_seconds": self.whole_run,
            "total_to_whole_run": self.total_to_whole_run,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """``to_dict()`` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)


def format_profile_table(profile: Profile) -> str:
    """A text table: operators slowest first with time and share, total, whole-run comparison."""
    labels = [
        op.name if op.func_name == op.name else f"{op.name} [{op.func_name}]"
        for op in profile.by_time()
    ]
    width = max([len("operators total"), *map(len, labels)])
    lines = [
        f"On-device time per operator, {profile.executor} (fastest of {profile.repeat} runs)",
        f"{'operator':<{width}}  {'time (us)':>10}  {'share':>6}",
    ]
    for label, op in zip(labels, profile.by_time(), strict=True):
        lines.append(f"{label:<{width}}  {op.seconds * 1e6:>10.1f}  {profile.share(op):>6.1%}")
    lines += [
        f"{'operators total':<{width}}  {profile.total * 1e6:>10.1f}  {1:>6.1%}",
        f"{'whole run':<{width}}  {profile.whole_run * 1e6:>10.1f}",
        f"operators total = {profile.total_to_whole_run:.1%} of the whole run",
    ]
    return "\n".join(lines)


def profile_device_graph(module: RemoteModule, graph: Graph, repeat: int) -> Profile:
    """Profile the device's graph executor ``module``: ``run_profile`` rounds and timed runs."""
    _check_repeat(repeat)
    run_profile = module.find_function("run_profile")
    if run_profile is None:
        raise ProfilingUnavailable(RUN_PROFILE_UNAVAILABLE)
    with run_profile, module.time_evaluator("run", number=1, repeat=1) as time_run:
        rounds = []
        for _ in range(repeat):
            nodes = _node_seconds(run_profile(), graph.num_nodes)
            (whole,) = time_run()
            rounds.append(([nodes[op.node] for op in graph.operators], whole))
    return Profile.from_rounds(DEVICE_GRAPH, graph.operators, rounds)


def profile_host_walk(
    module: RemoteModule, graph: Graph, args: Callable[[int], list[Any]], repeat: int
) -> Profile:
    """Profile the host walk: ``repeat`` walks, each operator call timed by the device.

    ``args(i)`` gives operator ``i``'s tensors. Only the operator calls run on the device, so a
    walk's on-device time is the sum of its calls; ``whole_run`` is the fastest walk.
    """
    _check_repeat(repeat)
    rounds = []
    for _ in range(repeat):
        times = []
        for index, op in enumerate(graph.operators):
            with module.time_evaluator(op.func_name, number=1, repeat=1) as timer:
                (seconds,) = timer(*args(index))
            times.append(seconds)
        rounds.append((times, sum(times)))
    return Profile.from_rounds(HOST_GRAPH_WALK, graph.operators, rounds)


def _check_repeat(repeat: int) -> None:
    if repeat < 1:
        raise SessionError(f"repeat must be at least 1, got {repeat}")


def _node_seconds(raw: Any, num_nodes: int) -> tuple[float, ...]:
    """Decode ``run_profile``'s reply: one little-endian double per graph node."""
    if not isinstance(raw, bytes) or len(raw) != 8 * num_nodes:
        got = f"{len(raw)} bytes" if isinstance(raw, bytes) else repr(raw)
        raise ProtocolError(f"run_profile returned {got}, expected {num_nodes} doubles")
    return struct.unpack(f"<{num_nodes}d", raw)
