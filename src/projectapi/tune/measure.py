"""One candidate on one board: generate, build, flash, check its outputs, time it.

Times are the device's own clock (``projectapi.run`` runners), grouped as TVM's time evaluator
groups them: ``repeat`` measurements, each the mean of ``number`` runs, ``number`` raised until
one measurement lasts ``min_repeat_ms``. Under QEMU with ``-icount`` the clock counts
instructions (one per virtual nanosecond), so the figures are deterministic.

Every failure becomes a status instead of an exception, so a search goes on: the project is
removed and its server stopped (which stops its emulator or device process), leaving the board
ready for the next candidate.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import pathlib
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from microtvm_kit import errors as kit_errors
from projectapi import mlf, run
from projectapi.errors import ProjectAPIError
from projectapi.micro.errors import DeviceTerminatedError, SessionTimeoutError
from projectapi.project import (
    GeneratedProject,
    TemplateProject,
    parse_option_strings,
    prepare_options,
)
from projectapi.tensors import model_layouts, random_input
from projectapi.tune.database import OK, MeasureResult

STEPS = ("generate", "build", "flash", "measure")


class MeasureError(ProjectAPIError):
    """Measuring cannot start: bad settings or candidates that cannot be compared."""


@dataclass(frozen=True)
class TimeEvaluator:
    """How each candidate is timed and checked (``number``/``repeat``/``min_repeat_ms`` as TVM's).

    ``timeout`` is how long one request may go unanswered before the device counts as hung;
    outputs must match the reference within ``rtol``/``atol``.
    """

    number: int = 1
    repeat: int = 3
    min_repeat_ms: float = 0.0
    timeout: float = 20.0
    rtol: float = 1e-4
    atol: float = 1e-5
    seed: int = 0

    def check(self) -> None:
        """Refuse values no measurement could use."""
        if self.number < 1 or self.repeat < 1:
            raise MeasureError("number and repeat must be at least 1")
        if self.min_repeat_ms < 0 or self.timeout <= 0:
            raise MeasureError("min_repeat_ms must be 0 or more and timeout more than 0")


@dataclass(frozen=True)
class Target:
    """Where candidates run: a template and its typed options (for every method)."""

    template: str
    options: Mapping[str, Any]

    @classmethod
    def from_strings(cls, template: str, pairs: Sequence[str]) -> Target:
        """A target from ``KEY=VALUE`` strings, typed and checked by the template's server."""
        with TemplateProject(template) as server:
            values = parse_option_strings(pairs, server.options)
            for method in ("generate_project", "build", "flash", "open_transport"):
                prepare_options(server.options, method, values)  # refuse now, not per candidate
            named = str(server.project_dir) if pathlib.Path(template).exists() else template
            return cls(named, values)

    @property
    def board(self) -> str:
        """The board name: the ``board`` option, else the template's name."""
        return str(self.options.get("board") or pathlib.Path(self.template).name)


@dataclass(frozen=True)
class Candidate:
    """An MLF archive to measure, named by the hash of its bytes."""

    archive: pathlib.Path
    digest: str

    @classmethod
    def from_path(cls, path: str | pathlib.Path) -> Candidate:
        """Hash the archive at ``path``."""
        archive = pathlib.Path(path).absolute()
        if not archive.is_file():
            raise MeasureError(f"candidate {archive} is not a file")
        return cls(archive, hashlib.sha256(archive.read_bytes()).hexdigest())


def measurement_key(candidate: Candidate, target: Target, evaluator: TimeEvaluator) -> str:
    """What makes two measurements the same: candidate bytes, template, options, settings."""
    text = json.dumps(
        [candidate.digest, target.template, dict(target.options), asdict(evaluator)],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Reference:
    """The inputs every candidate gets and the outputs it must produce."""

    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray] | None  # None: take the first candidate's as the reference

    @classmethod
    def random_for(cls, archive: pathlib.Path, seed: int) -> Reference:
        """Seeded random inputs for the model in ``archive``; outputs still unknown."""
        ins, _ = model_layouts(mlf.open(archive).model())
        rng = np.random.default_rng(seed)
        return cls({layout.name: random_input(layout, rng) for layout in ins}, None)


def classify(error: BaseException) -> str:
    """The status a failure gives a candidate (see ``database.FAILED_STATUSES``)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    kinds = tuple(type(e) for e in chain)
    if any(issubclass(k, kit_errors.FirmwareTooBigError) for k in kinds):
        return "too_large"
    if any(issubclass(k, kit_errors.BuildFailedError) for k in kinds):
        return "build_failed"
    if any(issubclass(k, (kit_errors.IoTimeoutError, SessionTimeoutError)) for k in kinds):
        return "hung"
    if any(issubclass(k, (kit_errors.TransportClosedError, DeviceTerminatedError)) for k in kinds):
        return "crashed"
    return "error"


class _Failed(Exception):
    """A step failed; carries the status to record."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def _outputs_problem(
    got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray], evaluator: TimeEvaluator
) -> str | None:
    for name, expected in want.items():
        actual = got.get(name)
        if actual is None or actual.shape != expected.shape:
            return f"output {name}: missing or of another shape"
        if not np.allclose(actual, expected, rtol=evaluator.rtol, atol=evaluator.atol):
            error = np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64)))
            return f"output {name}: differs from the reference by up to {error:.3g}"
    return None


def time_runs(runner: run.ModelRunner, evaluator: TimeEvaluator, first: float) -> tuple[float, ...]:
    """``repeat`` device-timed means of ``number`` runs (raised to last ``min_repeat_ms``)."""
    number = evaluator.number
    if evaluator.min_repeat_ms > 0 and first > 0:
        number = max(number, math.ceil(evaluator.min_repeat_ms / 1e3 / first))
    times = []
    for _ in range(evaluator.repeat):
        timing = runner.benchmark(number)
        times.append(timing.mean_seconds)
    return tuple(times)


class Clock:
    """Host seconds spent in each step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 4)


def generate_and_build(
    candidate: Candidate, target: Target, project_dir: pathlib.Path, clock: Clock
) -> tuple[GeneratedProject, dict[str, Any]]:
    """Generate and build ``candidate``'s project (the build cache keeps the runtime objects)."""
    with clock.step("generate"), TemplateProject(target.template) as template:
        project = template.generate_project(candidate.archive, project_dir, target.options)
    try:
        with clock.step("build"):
            sizes = project.build(target.options) or {}
    except BaseException:
        project.close()
        raise
    return project, sizes


def measure_built(
    project: GeneratedProject,
    candidate: Candidate,
    target: Target,
    evaluator: TimeEvaluator,
    reference: Reference,
    clock: Clock,
) -> tuple[tuple[float, ...], dict[str, np.ndarray]]:
    """Flash, run once, check the outputs, then time; the outputs are returned."""
    model = mlf.open(candidate.archive).model()
    with clock.step("flash"):
        project.flash(target.options)
    with (
        clock.step("measure"),
        run.open_runner(
            project, model, timeout=evaluator.timeout, transport_options=target.options
        ) as runner,
    ):
        runner.set_inputs(reference.inputs)
        first = runner.run(1)
        outputs = runner.get_outputs()
        if reference.outputs is not None:
            problem = _outputs_problem(outputs, reference.outputs, evaluator)
            if problem:
                raise _Failed("wrong_output", problem)
        times = time_runs(runner, evaluator, first.mean_seconds)
    return times, outputs


class Slots:
    """What candidates measured at once share: builds (one per core) and boards (one each)."""

    def __init__(self, builders: int = 1, boards: int = 1) -> None:
        """``builders`` builds at once; ``boards`` devices, numbered from 0."""
        self._builds = threading.Semaphore(builders)
        self._boards: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(boards):
            self._boards.put(slot)

    @contextlib.contextmanager
    def builder(self) -> Iterator[None]:
        """Hold one build place."""
        with self._builds:
            yield

    @contextlib.contextmanager
    def board(self) -> Iterator[int]:
        """Hold one board; yields its number."""
        slot = self._boards.get()
        try:
            yield slot
        finally:
            self._boards.put(slot)


@dataclass
class Outcome:
    """How a measurement ended: ``ok``, or the status and message of its first failure."""

    status: str = OK
    error: str = ""

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        """Turn the candidate's own faults inside into a status (other errors pass through)."""
        try:
            yield
        except _Failed as failure:
            self.status, self.error = failure.status, str(failure)
        except (ProjectAPIError, OSError) as failure:
            self.status, self.error = classify(failure), f"{type(failure).__name__}: {failure}"


def unused_path(folder: pathlib.Path, prefix: str) -> pathlib.Path:
    """A fresh, unique, not yet existing path in ``folder`` whose name starts with ``prefix``
    (for a directory that something else creates: a template, an unpacker)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
    path.rmdir()  # whoever fills it makes it; the unique name stays ours
    return path


def new_project_dir(candidate: Candidate, work_dir: pathlib.Path) -> pathlib.Path:
    """A fresh, unique, not yet existing path for ``candidate``'s project in ``work_dir``."""
    return unused_path(work_dir, candidate.digest[:12] + "-")


def make_result(
    candidate: Candidate,
    target: Target,
    evaluator: TimeEvaluator,
    board: str,
    outcome: Outcome,
    times: tuple[float, ...] = (),
    sizes: Mapping[str, Any] | None = None,
    seconds: Mapping[str, float] | None = None,
) -> MeasureResult:
    """The database row of one measurement."""
    return MeasureResult(
        key=measurement_key(candidate, target, evaluator),
        candidate=candidate.digest,
        archive=str(candidate.archive),
        board=board,
        template=target.template,
        options=_jsonable(target.options),
        status=outcome.status,
        times=times,
        sizes=_jsonable(sizes or {}),
        error=outcome.error,
        seconds=dict(seconds or {}),
    )


def measure_candidate(
    candidate: Candidate,
    target: Target,
    evaluator: TimeEvaluator,
    reference: Reference,
    work_dir: pathlib.Path,
    slots: Slots | None = None,
) -> tuple[MeasureResult, dict[str, np.ndarray] | None]:
    """Measure one candidate start to end; never raises for the candidate's own faults."""
    slots = slots or Slots()
    clock = Clock()
    project_dir = new_project_dir(candidate, work_dir)
    outcome, times, sizes, outputs, board_slot = Outcome(), (), {}, None, -1
    try:
        with outcome.capture():
            with slots.builder():
                project, sizes = generate_and_build(candidate, target, project_dir, clock)
            with project, slots.board() as board_slot:
                times, outputs = measure_built(
                    project, candidate, target, evaluator, reference, clock
                )
    finally:
        shutil.rmtree(project_dir, ignore_errors=True)
    board = target.board if board_slot < 0 else f"{target.board}#{board_slot}"
    result = make_result(candidate, target, evaluator, board, outcome, times, sizes, clock.seconds)
    return result, outputs


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(dict(values), default=str))


def same_interface(candidates: Sequence[Candidate]) -> None:
    """Refuse candidates of different models (other input or output names, dtypes, shapes)."""
    first, expected = None, None
    for candidate in candidates:
        ins, outs = model_layouts(mlf.open(candidate.archive).model())
        layouts = [(t.name, str(t.dtype), t.shape) for t in (*ins, *outs)]
        if first is None:
            first, expected = candidate, layouts
        elif layouts != expected:
            raise MeasureError(
                f"candidate {candidate.archive} has other inputs or outputs than "
                f"{first.archive}; candidates must be versions of one model"
            )
