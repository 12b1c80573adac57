"""A whole model tuned on the device: tasks searched, the best schedules in one archive.

Steps: load and fuse the model (``tasks.load``); time each kernel as projectapi compiles it
(its untuned operator archive, which is also the reference its candidates must match); search
with MetaSchedule within the trial budget (``search.tune``); keep a kernel's found schedule only
where it beat the untuned one on the device; write the tuned whole-model archive and time it
against the untuned one, whose outputs it must match.
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from projectapi.tune.database import MeasureResult, ResultDatabase
from projectapi.tune.measure import Candidate, MeasureError, Target, TimeEvaluator
from projectapi.tune.pool import MeasurePool, Measurer

REFERENCE_DIR = "untuned"
CANDIDATE_DIR = "candidates"
DB_NAME = "measurements.db"


@dataclass(frozen=True)
class TaskReport:
    """One kernel: device seconds untuned and best found, trials measured, failures."""

    name: str
    calls: int
    untuned: float | None
    best: float | None
    trials: int
    failures: int
    chosen: bool  # the tuned archive uses the found schedule

    @property
    def speedup(self) -> float | None:
        """Untuned over best time."""
        return self.untuned / self.best if self.untuned and self.best else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "task": self.name,
            "calls": self.calls,
            "untuned_seconds": self.untuned,
            "best_seconds": self.best,
            "speedup": self.speedup,
            "trials": self.trials,
            "failures": self.failures,
            "chosen": self.chosen,
        }


@dataclass(frozen=True)
class TuneReport:
    """What ``tune_model`` did: per-task figures and the whole model before and after."""

    archive: pathlib.Path
    tasks: list[TaskReport]
    untuned_seconds: float
    tuned_seconds: float
    seconds: float
    step_seconds: dict[str, float] = field(default_factory=dict)  # summed over candidates
    candidates: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "archive": str(self.archive),
            "tasks": [t.to_dict() for t in self.tasks],
            "untuned_seconds": self.untuned_seconds,
            "tuned_seconds": self.tuned_seconds,
            "speedup": self.untuned_seconds / self.tuned_seconds,
            "seconds": self.seconds,
            "candidates": self.candidates,
            "step_seconds": self.step_seconds,
        }


@contextlib.contextmanager
def _log_dir(log: pathlib.Path | None) -> Iterator[pathlib.Path]:
    if log is not None:
        log.mkdir(parents=True, exist_ok=True)
        yield log
        return
    with tempfile.TemporaryDirectory(prefix="projectapi-tune-") as temporary:
        yield pathlib.Path(temporary)


def _task_reports(
    model: Any,
    untuned: Mapping[str, MeasureResult],
    results: Sequence[MeasureResult],
    chosen: set[str],
) -> list[TaskReport]:
    reports = []
    for task in model.tasks:
        mine = [r for r in results if pathlib.Path(r.archive).parent.name == task.name]
        times = [r.best for r in mine if r.best is not None]
        reports.append(
            TaskReport(
                name=task.name,
                calls=task.calls,
                untuned=untuned[task.name].best,
                best=min(times) if times else None,
                trials=len(mine),
                failures=sum(not r.ok for r in mine),
                chosen=task.name in chosen,
            )
        )
    return reports


def _step_totals(results: Sequence[MeasureResult]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for result in results:
        for step, seconds in result.seconds.items():
            totals[step] = totals.get(step, 0.0) + seconds
    return totals


def tune_model(
    model_path: pathlib.Path,
    output: pathlib.Path,
    target: Target,
    *,
    code_target: str,
    trials: int,
    boards: int = 1,
    log: pathlib.Path | None = None,
    evaluator: TimeEvaluator | None = None,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    on_result: Callable[[MeasureResult], None] | None = None,
    on_tasks: Callable[[int], None] | None = None,
    measurer: Measurer | None = None,
) -> TuneReport:
    """Tune ``model_path`` for ``target`` within ``trials`` candidates; write ``output``
    (measured on ``boards`` local boards, or through ``measurer``, e.g. a farm's)."""
    from projectapi.tune import search, tasks

    if trials < 1:
        raise MeasureError(f"--trials must be at least 1, got {trials}")
    started = time.perf_counter()
    evaluator = evaluator or TimeEvaluator()
    model = tasks.load(model_path, code_target, input_shapes=input_shapes)
    if on_tasks is not None:  # measurements to come: each task's reference, trials, 2 models
        on_tasks(len(model.tasks) + trials + 2)
    seen: list[MeasureResult] = []

    def collect(result: MeasureResult) -> None:
        seen.append(result)
        if on_result is not None:
            on_result(result)

    with _log_dir(log) as folder, ResultDatabase(folder / DB_NAME) as database:
        pool = MeasurePool(target, evaluator, database, boards=boards, measurer=measurer)
        references = {}
        for task in model.tasks:
            path = folder / REFERENCE_DIR / f"{task.name}.tar"
            path.parent.mkdir(parents=True, exist_ok=True)
            tasks.operator_archive(model, task, None, path)
            references[task.name] = Candidate.from_path(path)
        untuned = {  # each task's reference is itself: outputs recorded, time measured
            name: pool.measure([candidate], None, collect).results[0]
            for name, candidate in references.items()
        }
        state = search.SearchState(model, pool, folder / CANDIDATE_DIR, references, collect)
        per_iteration = max(1, min(16, trials // max(1, len(model.tasks))))
        found = search.tune(state, trials, folder / "metaschedule", per_iteration)
        results = [r for r in seen if pathlib.Path(r.archive).parent.parent.name == CANDIDATE_DIR]
        reports = _task_reports(model, untuned, results, set())
        better = {
            r.name
            for r in reports
            if r.best and r.untuned and r.best < r.untuned and r.name in found
        }
        chosen = {name: found[name] for name in better}
        before = tasks.model_archive(model, {}, folder / "model-untuned.tar").archive
        after = tasks.model_archive(model, chosen, folder / "model-tuned.tar").archive
        whole = pool.measure(
            [Candidate.from_path(before), Candidate.from_path(after)], None, collect
        )
        untuned_model, tuned = whole.results  # in candidate order (one record if identical)
        if not tuned.ok:
            raise MeasureError(
                f"the tuned model failed on the device: {tuned.status}: {tuned.error}"
            )
        shutil.copyfile(after, output)
    return TuneReport(
        archive=output,
        tasks=_task_reports(model, untuned, results, better),
        untuned_seconds=untuned_model.best or float("nan"),
        tuned_seconds=tuned.best or float("nan"),
        seconds=time.perf_counter() - started,
        step_seconds=_step_totals(results),
        candidates=len(results),
    )
