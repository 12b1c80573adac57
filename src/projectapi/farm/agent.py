"""The board agent: a Ray actor per board, on the node that holds the board.

It receives a built project as bytes (through Ray's object store), unpacks it in its own work
folder, flashes and times it with the measurement core, and keeps the board's state (idle /
busy / broken) and work done. Every job stops its project's server, and with it the emulator
or device program, whatever happened, so a hang or crash leaves the board ready; a board
failing ``limit`` jobs in a row is marked broken.
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from projectapi.farm.errors import FarmError
from projectapi.farm.health import BROKEN, BoardHealth
from projectapi.farm.inventory import BoardSpec
from projectapi.farm.packing import remove_later, unpack_directory
from projectapi.farm.selection import BoardInfo
from projectapi.project import GeneratedProject
from projectapi.tune.measure import (
    Candidate,
    Clock,
    Outcome,
    Reference,
    Target,
    TimeEvaluator,
    measure_built,
    new_project_dir,
)

AGENT_PREFIX = "board/"


class BoardBrokenError(FarmError):
    """The board is marked broken: it takes no jobs until its agent restarts."""


@dataclass(frozen=True)
class BoardRun:
    """What one job on a board gave: status, device times, host step seconds."""

    board: str
    status: str
    error: str = ""
    times: tuple[float, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)
    broken: bool = False  # the board is broken now (this job was its last)


def agent_name(node_tag: str, unit: str) -> str:
    """The cluster-wide name of the agent of board ``unit`` joined under ``node_tag``."""
    return f"{AGENT_PREFIX}{node_tag}/{unit}"


class BoardAgent:
    """One board; run as a Ray actor (its methods are called remotely)."""

    def __init__(
        self, spec: BoardSpec, unit: str, name: str, failure_limit: int, work_root: str
    ) -> None:
        """Hold board ``unit`` of ``spec``; work happens in a folder of its own in
        ``work_root`` (the joining process's folder on this machine, removed when it leaves)."""
        import ray

        context = ray.get_runtime_context()
        self.info = BoardInfo(
            agent=name,
            name=unit,
            kind=spec.kind,
            template=spec.template,
            node=context.get_node_id(),
            host=ray.util.get_node_ip_address(),
            options=dict(spec.options),
            labels=spec.labels,
        )
        self.label = f"{spec.kind}/{unit}@{self.info.host}:{self.info.node[:8]}"
        self.health = BoardHealth(failure_limit)
        self.work_dir = pathlib.Path(tempfile.mkdtemp(prefix="board-", dir=work_root))
        self._lock = threading.Lock()  # the health record
        self._board = threading.Lock()  # one job at a time, whichever driver sends it

    def describe(self) -> BoardInfo:
        """Which board this is and where."""
        return self.info

    def status(self) -> dict[str, Any]:
        """The board, its state and work done (JSON-ready)."""
        with self._lock:
            snapshot = self.health.snapshot()
        return {**self.info.__dict__, "labels": list(self.info.labels), **snapshot}

    @contextlib.contextmanager
    def _job(self) -> Iterator[list[str]]:
        """Hold the board for one job (jobs of other drivers wait); refused once broken."""
        with self._board:
            with self._lock:
                if self.health.state == BROKEN:
                    raise BoardBrokenError(f"board {self.info.name} is broken")
                self.health.start()
            status = ["error"]
            try:
                yield status
            finally:
                with self._lock:
                    self.health.finish(status[0])

    def measure(
        self,
        packed: bytes,
        archive: bytes,
        digest: str,
        target: Target,
        evaluator: TimeEvaluator,
        reference: Reference,
    ) -> tuple[BoardRun, dict[str, np.ndarray] | None]:
        """Flash the built project ``packed`` and time it; the candidate's faults are a status."""
        candidate = Candidate(self._archive(archive, digest), digest)
        clock, outcome = Clock(), Outcome()
        times: tuple[float, ...] = ()
        outputs = None
        project_dir = new_project_dir(candidate, self.work_dir)
        with self._job() as status:
            try:
                with outcome.capture():
                    with clock.step("receive"):  # what the farm adds: unpack, start its server
                        unpack_directory(packed, project_dir)
                        project = GeneratedProject(project_dir)
                    with project:
                        times, outputs = measure_built(
                            project, candidate, target, evaluator, reference, clock
                        )
            finally:
                remove_later(project_dir)
            status[0] = outcome.status
        broken = self.health.state == BROKEN
        run = BoardRun(self.label, outcome.status, outcome.error, times, clock.seconds, broken)
        return run, outputs

    def run_project(
        self, packed: bytes, inputs: Mapping[str, np.ndarray], options: Any
    ) -> tuple[str, Any]:
        """Build (here, for this board), flash and run a generated project: ``projectapi run``."""
        from projectapi.run.project_run import run_arrays

        project_dir = pathlib.Path(tempfile.mkdtemp(prefix="run-", dir=self.work_dir))
        project_dir.rmdir()  # unpacking makes it; the unique name stays ours
        with self._job() as status:
            try:
                unpack_directory(packed, project_dir)
                report = run_arrays(project_dir, inputs, options)
            finally:
                remove_later(project_dir)
            status[0] = "ok"
        return self.label, report

    def _archive(self, data: bytes, digest: str) -> pathlib.Path:
        path = self.work_dir / f"{digest}.tar"
        if not path.is_file():  # written beside, then renamed: jobs of two drivers may race
            with tempfile.NamedTemporaryFile(dir=self.work_dir, delete=False) as partial:
                partial.write(data)
            pathlib.Path(partial.name).replace(path)
        return path

    def shutdown(self) -> None:
        """Remove this board's work folder (the agent is about to end)."""
        shutil.rmtree(self.work_dir, ignore_errors=True)
