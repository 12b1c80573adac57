"""Many candidates on a pool of boards: builds on every core, one candidate per board at a time.

Each candidate runs in a worker thread through a ``Measurer``: ``LocalMeasurer`` generates and
builds holding one of ``builders`` places, then flashes and measures on one of ``boards`` boards
(N QEMU instances of one board, each its own project); the board farm's measurer
(``projectapi.farm``) sends the same job to a cluster. Either way the pool alone chooses the
reference outputs and is the one writer of the database: the calling thread records every
result as it arrives, so a crash loses only the candidates in flight, and a re-run measures
only what is not recorded.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from projectapi.tune.database import MeasureResult, ResultDatabase
from projectapi.tune.measure import (
    Candidate,
    MeasureError,
    Reference,
    Slots,
    Target,
    TimeEvaluator,
    measure_candidate,
    measurement_key,
    same_interface,
)

ResultCallback = Callable[[MeasureResult], None]
Measured = tuple[MeasureResult, "dict[str, np.ndarray] | None"]


class Measurer(Protocol):
    """How one candidate is measured, start to end, on some board (never raising for the
    candidate's own faults); ``workers`` candidates may be in its hands at once."""

    workers: int

    def measure(
        self, candidate: Candidate, reference: Reference, work_dir: pathlib.Path
    ) -> Measured:
        """The candidate's result, and its outputs when it ran."""
        ...


class LocalMeasurer:
    """Candidates on this machine: ``builders`` builds and ``boards`` boards at once."""

    def __init__(
        self, target: Target, evaluator: TimeEvaluator, *, boards: int, builders: int
    ) -> None:
        """Share ``builders`` build places and ``boards`` boards among the candidates."""
        self.target = target
        self.evaluator = evaluator
        self.slots = Slots(builders, boards)
        self.workers = builders + boards

    def measure(
        self, candidate: Candidate, reference: Reference, work_dir: pathlib.Path
    ) -> Measured:
        """Generate, build, flash and time ``candidate`` here."""
        return measure_candidate(
            candidate, self.target, self.evaluator, reference, work_dir, self.slots
        )


@dataclass(frozen=True)
class PoolReport:
    """Every result of the candidates asked for, and how many were measured now."""

    results: list[MeasureResult]
    measured: int  # measured in this run (the rest were recorded before)
    reference: str  # digest of the candidate whose outputs every other one must match

    @property
    def best(self) -> MeasureResult | None:
        """The fastest candidate whose outputs matched."""
        timed = [r for r in self.results if r.best is not None]
        return min(timed, key=lambda r: r.best or 0.0) if timed else None


def default_builders() -> int:
    """Builds at once: one per core this process may use."""
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


class MeasurePool:
    """Measures candidates for one target, recording into ``database``."""

    def __init__(
        self,
        target: Target,
        evaluator: TimeEvaluator,
        database: ResultDatabase,
        *,
        boards: int = 1,
        builders: int | None = None,
        measurer: Measurer | None = None,
    ) -> None:
        """Prepare a pool of ``boards`` boards and ``builders`` build places (default: cores)
        on this machine, or measure through ``measurer`` (e.g. a board farm's)."""
        evaluator.check()
        if boards < 1:
            raise MeasureError(f"--boards must be at least 1, got {boards}")
        self.target = target
        self.evaluator = evaluator
        self.database = database
        self.measurer = measurer or LocalMeasurer(
            target, evaluator, boards=boards, builders=builders or default_builders()
        )
        self._stop = threading.Event()

    def recorded(self, candidates: Sequence[Candidate]) -> int:
        """How many distinct ``candidates`` the database already holds."""
        keys = {measurement_key(c, self.target, self.evaluator) for c in candidates}
        return sum(self.database.get(key) is not None for key in keys)

    def measure(
        self,
        candidates: Sequence[Candidate],
        reference: Candidate | None = None,
        on_result: ResultCallback | None = None,
    ) -> PoolReport:
        """Measure every candidate not yet recorded; the reference (default: the first
        candidate) runs first, its outputs become what the others must match."""
        if not candidates:
            raise MeasureError("no candidates to measure")
        reference = reference or candidates[0]
        same_interface([reference, *candidates])
        keys = {c.digest: measurement_key(c, self.target, self.evaluator) for c in candidates}
        todo = list(
            {c.digest: c for c in candidates if self.database.get(keys[c.digest]) is None}.values()
        )
        measured = 0
        with tempfile.TemporaryDirectory(prefix="projectapi-measure-") as work:
            work_dir = pathlib.Path(work)
            if todo:
                expected, first = self._reference_outputs(reference, work_dir)
                if (
                    first is not None
                    and first.key in keys.values()
                    and self._record(first, on_result)
                ):
                    todo = [c for c in todo if c.digest != reference.digest]
                    measured += 1
                measured += self._measure_all(todo, expected, work_dir, on_result)
        results = [r for r in (self.database.get(keys[c.digest]) for c in candidates) if r]
        return PoolReport(results, measured, reference.digest)

    def _reference_outputs(
        self, reference: Candidate, work_dir: pathlib.Path
    ) -> tuple[Reference, MeasureResult | None]:
        """The reference's inputs and outputs: as kept in the database, else measured now."""
        key = "reference:" + measurement_key(reference, self.target, self.evaluator)
        kept = self.database.load_arrays(key)
        if kept is not None:
            inputs = {name[3:]: a for name, a in kept.items() if name.startswith("in:")}
            outputs = {name[4:]: a for name, a in kept.items() if name.startswith("out:")}
            return Reference(inputs, outputs), None
        fresh = Reference.random_for(reference.archive, self.evaluator.seed)
        result, outputs = self.measurer.measure(reference, fresh, work_dir)
        if outputs is None:
            raise MeasureError(
                f"the reference {reference.archive} did not run ({result.status}: "
                f"{result.error}); every candidate is checked against its outputs"
            )
        arrays = {f"in:{n}": a for n, a in fresh.inputs.items()}
        arrays.update({f"out:{n}": a for n, a in outputs.items()})
        self.database.save_arrays(key, arrays)
        return Reference(fresh.inputs, outputs), result

    def _record(self, result: MeasureResult, on_result: ResultCallback | None) -> bool:
        fresh = self.database.record(result)
        if fresh and on_result is not None:
            on_result(result)
        return fresh

    def _measure_all(
        self,
        todo: Sequence[Candidate],
        reference: Reference,
        work_dir: pathlib.Path,
        on_result: ResultCallback | None,
    ) -> int:
        def job(candidate: Candidate) -> MeasureResult | None:
            if self._stop.is_set():
                return None
            return self.measurer.measure(candidate, reference, work_dir)[0]

        measured = 0
        workers = self.measurer.workers
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="measure") as executor:
            pending: set[Future[MeasureResult | None]] = {executor.submit(job, c) for c in todo}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    failure = next((f.exception() for f in done if f.exception()), None)
                    for future in done:  # every result that came in is kept, even beside a failure
                        result = None if future.exception() else future.result()
                        if result is not None and self._record(result, on_result):
                            measured += 1
                    if failure is not None:
                        raise failure
            except BaseException:
                # Ctrl-C or a failure here: start nothing new, keep what finishes meanwhile.
                self._stop.set()
                for future in pending:
                    future.cancel()
                for future in pending:
                    if not future.cancelled() and future.exception() is None:
                        result = future.result()
                        if result is not None:
                            self.database.record(result)
                raise
        return measured
