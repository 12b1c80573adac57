"""``ModelRunner``: one model on one device, ready to run, whichever way it is driven.

Four ways, one protocol: a standalone program (the standalone link protocol), and over a
microTVM session the device's AOT executor, the device's graph executor, or the graph walked on
the host. Callers set inputs, run, read outputs, time runs and profile without branching on the
way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from projectapi import mlf, standalone
from projectapi.run.measurement import Measurement
from projectapi.tensors import TensorLayout, check_inputs, model_layouts

if TYPE_CHECKING:
    from projectapi.micro import Profile, Session

GRAPH_EXECUTORS = ("device", "host")
# The device's timer is read once per batch of runs; up to this many batches make "fastest"
# mean something.
MAX_BENCHMARK_BATCHES = 10
# A standalone request for N runs may take N times the first run's wall time, times this margin
# (a loaded machine), plus the slack below; never less than the first run's own deadline.
DEADLINE_MARGIN = 3.0
DEADLINE_SLACK_SEC = 10.0
STANDALONE_NO_PROFILE = (
    "a standalone program times whole runs only; create the project with "
    "-o project_type=host_driven to time its operators"
)


class ModelRunner(Protocol):
    """A model ready to run on a device; what ``projectapi run``, benchmarks and tuning drive."""

    inputs: Sequence[TensorLayout]
    outputs: Sequence[TensorLayout]

    def set_inputs(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Give every input by name (checked against its layout)."""

    def run(self, repeat: int = 1) -> Measurement:
        """Run ``repeat`` times on the inputs set; the outputs of the last run are kept."""

    def get_outputs(self) -> dict[str, np.ndarray]:
        """The outputs of the last run, by name, in their layouts' shapes."""

    def benchmark(self, runs: int) -> Measurement:
        """Time ``runs`` more runs with the device's own clock."""

    def profile(self) -> Profile:
        """Per-operator on-device times; raises ProfilingUnavailable saying why not."""

    def close(self) -> None:
        """Free what the runner holds on the device."""


def work_deadline(repeat: int, first_run_seconds: float, floor: float) -> float:
    """Seconds to wait for ``repeat`` runs after one took ``first_run_seconds`` (at least ``floor``)."""
    return max(floor, repeat * first_run_seconds * DEADLINE_MARGIN + DEADLINE_SLACK_SEC)


class StandaloneModelRunner:
    """A standalone program behind a transport; its reply deadline follows the work.

    The first request runs once within ``first_run_timeout``; a request for N runs then waits
    N times that run's wall time with a margin (``work_deadline``). ``timeout`` replaces both.
    """

    def __init__(
        self,
        transport: standalone.Transport,
        inputs: Sequence[TensorLayout],
        outputs: Sequence[TensorLayout],
        *,
        timeout: float | None = None,
        first_run_timeout: float = standalone.DEFAULT_TIMEOUT_SEC,
    ) -> None:
        """Talk over an open ``transport``."""
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self._link = standalone.StandaloneRunner(transport, self.inputs, self.outputs)
        self._timeout = timeout
        self._first_run_timeout = first_run_timeout
        self._first_run_seconds: float | None = None
        self._arrays: dict[str, np.ndarray] = {}
        self._outputs: dict[str, np.ndarray] = {}

    def set_inputs(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Keep the inputs; they go to the program with each request."""
        self._arrays = check_inputs(self.inputs, arrays)

    def _request(self, repeat: int, deadline: float) -> Measurement:
        start = time.perf_counter()
        result = self._link.run(self._arrays, repeat, timeout_sec=deadline)
        wall = time.perf_counter() - start
        self._outputs = result.outputs
        return Measurement(
            result.repeat,
            host_wall=(wall / result.repeat,),
            device_mean=result.mean_seconds,
            device_fastest=result.fastest_seconds,
        )

    def run(self, repeat: int = 1) -> Measurement:
        """One request of ``repeat`` runs (preceded by one single run the first time)."""
        if self._first_run_seconds is None:
            first = self._request(1, self._timeout or self._first_run_timeout)
            self._first_run_seconds = first.host_wall[0]
            if repeat == 1:
                return first
        deadline = self._timeout or work_deadline(
            repeat, self._first_run_seconds, self._first_run_timeout
        )
        return self._request(repeat, deadline)

    def get_outputs(self) -> dict[str, np.ndarray]:
        """The outputs of the last request."""
        return dict(self._outputs)

    def benchmark(self, runs: int) -> Measurement:
        """``runs`` runs in one request, timed by the program (it always uses the device clock)."""
        return self.run(runs)

    def profile(self) -> Profile:
        """Always raises ProfilingUnavailable: the program times whole runs only."""
        from projectapi.micro import ProfilingUnavailable

        raise ProfilingUnavailable(STANDALONE_NO_PROFILE)

    def close(self) -> None:
        """Nothing to free: the program holds no state between requests."""


class SessionModelRunner:
    """An executor over a microTVM session: AOT, graph on the device, or graph walked on the host."""

    def __init__(
        self,
        executor: Any,
        inputs: Sequence[TensorLayout],
        outputs: Sequence[TensorLayout],
        *,
        inputs_by_name: bool,
        session: Session | None = None,
    ) -> None:
        """Drive ``executor`` (released by ``close``); inputs go by name or by index.

        ``session`` is the device session the executor lives in, for callers that need more
        of the device (arrays, functions) than the model.
        """
        self.executor = executor
        self.session = session
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self._by_name = inputs_by_name

    def set_inputs(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Copy every input to the device."""
        for index, (name, array) in enumerate(check_inputs(self.inputs, arrays).items()):
            self.executor.set_input(name if self._by_name else index, array)

    def run(self, repeat: int = 1) -> Measurement:
        """``repeat`` calls of the executor's run, each timed by the host's wall clock."""
        walls = []
        for _ in range(repeat):
            start = time.perf_counter()
            self.executor.run()
            walls.append(time.perf_counter() - start)
        return Measurement(repeat, host_wall=tuple(walls))

    def get_outputs(self) -> dict[str, np.ndarray]:
        """Every output read back from the device."""
        return {
            layout.name: self.executor.get_output(i).reshape(layout.shape)
            for i, layout in enumerate(self.outputs)
        }

    def benchmark(self, runs: int) -> Measurement:
        """About ``runs`` runs timed by the device, in up to 10 batches (fastest batch kept)."""
        batches = min(runs, MAX_BENCHMARK_BATCHES)
        number = max(1, runs // batches)
        timing = self.executor.benchmark(number=number, repeat=batches)
        return Measurement(
            number * batches,
            device_mean=timing.mean,
            device_fastest=timing.min,
            device_method=f"fastest of {batches} batches",
        )

    def profile(self) -> Profile:
        """The executor's per-operator profile."""
        return self.executor.profile()

    def close(self) -> None:
        """Free the executor on the device."""
        self.executor.release()


def session_runner(
    session: Session, model: mlf.Model, graph_executor: str | None = None
) -> SessionModelRunner:
    """A runner for ``model`` over ``session``: AOT, or a graph on the ``device`` (default) or
    walked on the ``host``, its parameters loaded."""
    ins, outs = model_layouts(model)
    if model.executor != "graph":
        return SessionModelRunner(
            session.create_aot_executor(model.name),
            ins,
            outs,
            inputs_by_name=False,
            session=session,
        )
    graph_json = json.dumps(model.graph, separators=(",", ":"))
    if (graph_executor or "device") == "host":
        executor = session.create_host_graph_executor(graph_json)
    else:
        executor = session.create_graph_executor(graph_json)
    runner = SessionModelRunner(executor, ins, outs, inputs_by_name=True, session=session)
    try:
        params = model.params()
        if params:  # device-side: in one message when it fits, else by chunked copies
            executor.load_params(params)
    except BaseException:
        runner.close()
        raise
    return runner
