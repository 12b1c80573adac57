"""The board agent: a Ray actor per board, on the node that holds the board.

It receives a built project as bytes (through Ray's object store), unpacks it in its own work
folder, flashes and times it with the measurement core, and keeps the board's state (idle /
busy / broken) and work done. Every job ends its session, and with it the emulator or device
program; the project's server is kept for the next job when its startup files allow
(``board_project``), and stopped when the job failed, so a hang or crash leaves the board
ready; a board failing ``limit`` jobs in a row is marked broken.
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

from projectapi.farm.board_project import BoardProject
from projectapi.farm.errors import FarmError
from projectapi.farm.health import BROKEN, BoardHealth
from projectapi.farm.inventory import BoardSpec
from projectapi.farm.packing import remove_later, unpack_directory
from projectapi.farm.selection import BoardInfo
from projectapi.tune.measure import (
    Candidate,
    Clock,
    Outcome,
    Reference,
    Target,
    TimeEvaluator,
    measure_built,
    new_project_dir,
    unused_path,
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
        self.project = BoardProject()
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
        clock, outcome = Clock(), Outcome()
        times: tuple[float, ...] = ()
        outputs = None
        with self._job() as status, self._archive(archive, digest) as path:
            candidate = Candidate(path, digest)
            with outcome.capture():
                with clock.step("receive"):  # what the farm adds: unpack (and start a server)
                    project = self.project.take(packed, new_project_dir(candidate, self.work_dir))
                with self.project.used():
                    times, outputs = measure_built(
                        project, candidate, target, evaluator, reference, clock
                    )
            status[0] = outcome.status
        broken = self.health.state == BROKEN
        run = BoardRun(self.label, outcome.status, outcome.error, times, clock.seconds, broken)
        return run, outputs

    def run_project(
        self, packed: bytes, inputs: Mapping[str, np.ndarray], options: Any
    ) -> tuple[str, Any]:
        """Build (here, for this board), flash and run a generated project: ``projectapi run``."""
        from projectapi.run.project_run import run_arrays

        project_dir = unused_path(self.work_dir, "run-")
        with self._job() as status:
            try:
                unpack_directory(packed, project_dir)
                report = run_arrays(project_dir, inputs, options)
            finally:
                remove_later(project_dir)
            status[0] = "ok"
        return self.label, report

    @contextlib.contextmanager
    def _archive(self, data: bytes, digest: str) -> Iterator[pathlib.Path]:
        """The candidate's archive as a file for the job (removed after it)."""
        folder = pathlib.Path(tempfile.mkdtemp(prefix="archive-", dir=self.work_dir))
        path = folder / f"{digest}.tar"
        path.write_bytes(data)
        try:
            yield path
        finally:
            remove_later(folder)

    def shutdown(self) -> None:
        """Stop the board's project server and remove this board's work folder (the agent is
        about to end)."""
        with self._board:
            self.project.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)
