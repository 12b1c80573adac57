"""Per-operator on-device time of a graph model: measuring, the Profile, its table and JSON.

Every figure is the device's own timer, so RPC overhead is never part of it. A profile is made
of ``repeat`` rounds; each round times every operator of one run and a whole run, back to back so
that both see the same machine load. The figures are means over the fastest half of the rounds
(a round counting as fast as its slower measurement): slow rounds, disturbed by other programs,
are left out, and per-operator times and whole runs average over the same rounds, so they add up
(see docs/profiling.md).
"""

from __future__ import annotations

import json
import statistics
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ProfilingUnavailable, ProtocolError, SessionError
from .graph import Graph, Operator
from .rpc import RemoteModule

DEFAULT_REPEAT = 40
"""Rounds per profile; enough for per-operator times to add up within a few percent on a machine
running several other programs (the measurements in docs/profiling.md)."""

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
    """On-device seconds of one operator call (mean over the profile's fastest rounds)."""

    name: str
    func_name: str
    seconds: float


@dataclass(frozen=True)
class Profile:
    """On-device time per operator of one graph run, and of the whole run measured alike.

    ``operators`` are in execution order; ``whole_run`` is a whole run timed by the same device
    timer, averaged over the same rounds as the operators; ``repeat`` is the number of rounds.
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
        """Means over the fastest half of ``(operator seconds, whole-run seconds)`` rounds."""
        ranked = sorted(rounds, key=lambda r: max(sum(r[0]), r[1]))
        kept = ranked[: _kept(len(rounds))]
        rows = tuple(
            OperatorTime(op.name, op.func_name, statistics.fmean(times[i] for times, _ in kept))
            for i, op in enumerate(operators)
        )
        return cls(executor, rows, statistics.fmean(whole for _, whole in kept), len(rounds))

    @property
    def statistic(self) -> str:
        """How the figures were obtained from the rounds, in words."""
        return f"mean of the fastest {_kept(self.repeat)} of {self.repeat} runs"

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
            "statistic": self.statistic,
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
        f"On-device time per operator, {profile.executor} ({profile.statistic})",
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
    """Profile the device's graph executor ``module`` with ``repeat`` calls of ``run_profile``."""
    _check_repeat(repeat)
    run_profile = module.find_function("run_profile")
    if run_profile is None:
        raise ProfilingUnavailable(RUN_PROFILE_UNAVAILABLE)
    with run_profile:
        rounds = []
        for _ in range(repeat):
            *nodes, whole = _doubles(run_profile(), graph.num_nodes + 1)
            rounds.append(([nodes[op.node] for op in graph.operators], whole))
    return Profile.from_rounds(DEVICE_GRAPH, graph.operators, rounds)


def profile_host_walk(
    module: RemoteModule, graph: Graph, args: Callable[[int], list[Any]], repeat: int
) -> Profile:
    """Profile the host walk: ``repeat`` walks, each operator call timed by the device.

    ``args(i)`` gives operator ``i``'s tensors. Only the operator calls run on the device, so a
    walk's on-device time is the sum of its calls.
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


def _kept(repeat: int) -> int:
    """How many of ``repeat`` rounds a profile keeps: the fastest half, rounded up."""
    return (repeat + 1) // 2


def _doubles(raw: Any, count: int) -> tuple[float, ...]:
    """Decode ``run_profile``'s reply: seconds per graph node, then of the whole run."""
    if not isinstance(raw, bytes) or len(raw) != 8 * count:
        got = f"{len(raw)} bytes" if isinstance(raw, bytes) else repr(raw)
        raise ProtocolError(f"run_profile returned {got}, expected {count} doubles")
    return struct.unpack(f"<{count}d", raw)
