"""A measurement that fails outside the candidate (e.g. no board is left) ends the pool's run, but
every result that came in with it is still recorded: none is lost."""

from __future__ import annotations

import pathlib
import threading
import time

import numpy as np
import pytest

from projectapi import tune
from projectapi.tune.measure import Outcome, make_result
from projectapi.tune.pool import Measured

from . import candidates as make

HOST = tune.Target("host", {"project_type": "aot_standalone"})
EVALUATOR = tune.TimeEvaluator()


class BoardsGone(RuntimeError):
    """What a measurer raises when it cannot measure at all (not the candidate's fault)."""


class OrderedMeasurer:
    """Measures without a device, in an order the test sets: ``fails`` raises and ``late``
    returns while the pool is still recording ``first``, so both reach the pool at once."""

    workers = 3

    def __init__(self, first: str, late: str, fails: str) -> None:
        self.first, self.late, self.fails = first, late, fails
        self.recording_first = threading.Event()
        self.finished: dict[str, threading.Event] = {
            late: threading.Event(),
            fails: threading.Event(),
        }

    def measure(
        self, candidate: tune.Candidate, reference: tune.Reference, work_dir: pathlib.Path
    ) -> Measured:
        if candidate.digest in self.finished:
            self.recording_first.wait(10)
            self.finished[candidate.digest].set()
            if candidate.digest == self.fails:
                raise BoardsGone("no qualifying board is left")
        outputs = {"output": np.zeros((1, make.SIZE), np.float32)}
        result = make_result(candidate, HOST, EVALUATOR, "fake", Outcome(), (1e-3,))
        return result, outputs

    def on_result(self, result: tune.MeasureResult) -> None:
        """While the pool records ``first``, the other two finish."""
        if result.candidate == self.first:
            self.recording_first.set()
            for event in self.finished.values():
                event.wait(10)
            time.sleep(0.2)  # both futures done before the pool waits again


def test_results_beside_a_failure_are_recorded(tmp_path: pathlib.Path) -> None:
    candidates = [
        tune.Candidate.from_path(make.good(tmp_path / f"k{p}.tar", passes=p)) for p in range(1, 5)
    ]
    reference, first, late, fails = candidates
    # The two arrive together in an order the pool does not choose: try it several times.
    for attempt in range(8):
        measurer = OrderedMeasurer(first.digest, late.digest, fails.digest)
        with tune.ResultDatabase(tmp_path / f"r{attempt}.db") as database:
            pool = tune.MeasurePool(HOST, EVALUATOR, database, measurer=measurer)
            with pytest.raises(BoardsGone):
                pool.measure(candidates, reference, measurer.on_result)
            recorded = {r.candidate for r in database.results()}
        assert recorded == {reference.digest, first.digest, late.digest}
