"""A board keeps its project server between jobs when the server's startup files allow: the next
job's files replace the last one's under the running server, and that server really serves
them (real builds, QEMU and host)."""

from __future__ import annotations

import io
import os
import pathlib
import signal
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from tune import candidates as make

from projectapi import tune
from projectapi.farm.board_project import BoardProject, split_startup
from projectapi.farm.packing import pack_directory
from projectapi.project import GeneratedProject, TemplateProject
from projectapi.tune.measure import Clock, generate_and_build, measure_built

QEMU = ["board=mps2-an386", "project_type=aot_standalone", "icount=true"]
HOST = ["project_type=aot_standalone"]


@dataclass(frozen=True)
class Job:
    """A built candidate as a board receives it, and the factor its model multiplies by."""

    candidate: tune.Candidate
    target: tune.Target
    packed: bytes
    factor: float


def _job(folder: pathlib.Path, template: str, options: list[str], kernel: str) -> Job:
    target = tune.Target.from_strings(template, options)
    archive = getattr(make, kernel)(folder / f"{template}-{kernel}.tar")
    candidate = tune.Candidate.from_path(archive)
    project, _ = generate_and_build(candidate, target, folder / f"{template}-{kernel}", Clock())
    project.close()
    packed = pack_directory(project.project_dir, only=project.run_files)
    return Job(candidate, target, packed, 2.0 if kernel == "good" else 3.0)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Job]:
    folder = tmp_path_factory.mktemp("jobs")
    return {
        "qemu-good": _job(folder, "qemu", QEMU, "good"),
        "qemu-wrong": _job(folder, "qemu", QEMU, "wrong"),
        "host-good": _job(folder, "host", HOST, "good"),
    }


@pytest.fixture
def board() -> Iterator[BoardProject]:
    """A board, its server stopped at the end."""
    board = BoardProject()
    yield board
    board.close()


def _run(project: GeneratedProject, job: Job, board: BoardProject) -> None:
    """Flash and run ``job`` on the board's project; its outputs are its own model's."""
    reference = tune.Reference.random_for(job.candidate.archive, seed=2)
    evaluator = tune.TimeEvaluator(repeat=1)
    with board.used():
        _, outputs = measure_built(
            project, job.candidate, job.target, evaluator, reference, Clock()
        )
    (x,) = reference.inputs.values()
    np.testing.assert_allclose(outputs["output"], x * job.factor, rtol=1e-6)


def _gone(path: pathlib.Path, seconds: float = 10.0) -> bool:
    """``path`` is removed (in the background) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def _first_job(board: BoardProject, job: Job, folder: pathlib.Path) -> GeneratedProject:
    """Run ``job`` as the board's first: a fresh folder, a server of its own, kept after."""
    project = board.take(job.packed, folder)
    _run(project, job, board)
    assert board.kept == folder and project.server_running()
    return project


@pytest.mark.slow
def test_next_job_runs_its_own_firmware_in_the_kept_server(
    board: BoardProject, jobs: dict[str, Job], tmp_path: pathlib.Path
) -> None:
    first = _first_job(board, jobs["qemu-good"], tmp_path / "job1")
    assert first.startup_files == ("*.py", "boards.json")
    server = tmp_path / "job1" / "microtvm_api_server.py"
    inode = server.stat().st_ino
    (tmp_path / "job1" / "left-by-job1.json").write_text("{}")  # not in the next job's files
    for name, staging in (("qemu-wrong", "job2"), ("qemu-good", "job3")):
        project = board.take(jobs[name].packed, tmp_path / staging)
        assert project is first and board.kept == tmp_path / "job1"  # the same server
        _run(project, jobs[name], board)  # 3x, then 2x again: the job's own firmware ran
        assert _gone(tmp_path / staging)
    assert server.stat().st_ino == inode  # startup files stay as the server started with them
    assert not (tmp_path / "job1" / "left-by-job1.json").exists()
    board.close()
    assert board.kept is None and _gone(tmp_path / "job1")


@pytest.mark.slow
def test_other_server_code_gets_a_server_of_its_own(
    board: BoardProject, jobs: dict[str, Job], tmp_path: pathlib.Path
) -> None:
    qemu = _first_job(board, jobs["qemu-good"], tmp_path / "qemu")
    host = board.take(jobs["host-good"].packed, tmp_path / "host")
    assert host is not qemu and board.kept == tmp_path / "host"
    assert _gone(tmp_path / "qemu")  # the QEMU project's server stopped, its folder removed
    _run(host, jobs["host-good"], board)


@pytest.mark.slow
def test_a_failed_job_stops_the_server(
    board: BoardProject, jobs: dict[str, Job], tmp_path: pathlib.Path
) -> None:
    first = board.take(jobs["qemu-good"].packed, tmp_path / "job1")
    with pytest.raises(RuntimeError), board.used():
        raise RuntimeError("the device hung")
    assert board.kept is None and _gone(tmp_path / "job1")
    second = board.take(jobs["qemu-good"].packed, tmp_path / "job2")
    assert second is not first and board.kept == tmp_path / "job2"
    _run(second, jobs["qemu-good"], board)


@pytest.mark.slow
def test_a_server_that_died_between_jobs_is_replaced(
    board: BoardProject, jobs: dict[str, Job], tmp_path: pathlib.Path
) -> None:
    first = _first_job(board, jobs["qemu-good"], tmp_path / "job1")
    assert first.server_pid is not None
    os.kill(first.server_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while first.server_running() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = board.take(jobs["qemu-wrong"].packed, tmp_path / "job2")
    assert second is not first and board.kept == tmp_path / "job2"
    assert _gone(tmp_path / "job1")
    _run(second, jobs["qemu-wrong"], board)  # the job still runs, on a server of its own


def test_a_server_without_startup_files_serves_one_job(tmp_path: pathlib.Path) -> None:
    archive = make.good(tmp_path / "model.tar")
    with TemplateProject("echo") as template:
        template.generate_project(archive, tmp_path / "echo").close()
    board = BoardProject()
    project = board.take(pack_directory(tmp_path / "echo"), tmp_path / "job1")
    assert project.startup_files is None
    with board.used():
        project.flash()
    assert board.kept is None and _gone(tmp_path / "job1")


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_split_startup_digests_the_startup_files_and_keeps_the_others() -> None:
    patterns = ("*.py", "boards.json")
    base = {"server.py": b"a", "kit/mod.py": b"b", "boards.json": b"{}", "build/image": b"1"}
    digest, others = split_startup(_tar(base), patterns)
    with tarfile.open(fileobj=io.BytesIO(others)) as tar:
        assert {m.name: tar.extractfile(m).read() for m in tar} == {"build/image": b"1"}  # type: ignore[union-attr]
    changed_others = split_startup(_tar({**base, "build/image": b"2", "model.tar": b"m"}), patterns)
    assert changed_others[0] == digest
    for changed in ({"kit/mod.py": b"c"}, {"boards.json": b"[]"}, {"kit/new.py": b""}):
        assert split_startup(_tar({**base, **changed}), patterns)[0] != digest
