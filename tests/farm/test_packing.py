"""A project built in one folder, packed to bytes and unpacked elsewhere (as it travels to a
board's node) still flashes and runs there: host and QEMU templates, real builds."""

from __future__ import annotations

import pathlib
import shutil
from dataclasses import dataclass

import pytest
from tune import candidates as make

from microtvm_kit.errors import UnsafeArchiveError
from projectapi import tune
from projectapi.farm.packing import pack_directory, unpack_directory
from projectapi.project import GeneratedProject
from projectapi.tune.measure import Clock, generate_and_build, measure_built

TARGETS = {
    "host": ["project_type=aot_standalone"],
    "qemu": ["board=mps2-an386", "project_type=aot_standalone", "icount=true"],
}


@dataclass(frozen=True)
class Built:
    """A candidate built for a template, packed whole and as its board needs it (its
    ``run_files``), the build folder itself removed: nothing of it is left to lean on."""

    candidate: tune.Candidate
    target: tune.Target
    whole: bytes
    lean: bytes


@pytest.fixture(scope="module", params=sorted(TARGETS))
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp(request.param)
    target = tune.Target.from_strings(request.param, TARGETS[request.param])
    candidate = tune.Candidate.from_path(make.good(folder / "good.tar", passes=3))
    built_dir = folder / "built"
    project, _ = generate_and_build(candidate, target, built_dir, Clock())
    project.close()
    assert project.run_files  # the template says what flash and open_transport read
    whole = pack_directory(built_dir)
    lean = pack_directory(built_dir, only=project.run_files)
    shutil.rmtree(built_dir)
    return Built(candidate, target, whole, lean)


def _runs_after_moving(built: Built, packed: bytes, destination: pathlib.Path) -> pathlib.Path:
    """Unpack ``packed`` at ``destination``; it flashes, runs and computes y = 2x there."""
    moved = unpack_directory(packed, destination)
    reference = tune.Reference.random_for(built.candidate.archive, seed=1)
    with GeneratedProject(moved) as project:
        times, outputs = measure_built(
            project, built.candidate, built.target, tune.TimeEvaluator(repeat=2), reference, Clock()
        )
    assert len(times) == 2 and all(t > 0 for t in times)
    (x,) = reference.inputs.values()
    assert (outputs["output"] == x * 2).all()
    return moved


@pytest.mark.slow
def test_built_project_runs_after_moving(built: Built, tmp_path: pathlib.Path) -> None:
    _runs_after_moving(built, built.whole, tmp_path / "elsewhere" / "project")


@pytest.mark.slow
def test_project_packed_for_its_board_is_smaller_and_still_runs(
    built: Built, tmp_path: pathlib.Path
) -> None:
    assert len(built.lean) < len(built.whole) / 2
    moved = _runs_after_moving(built, built.lean, tmp_path / "board" / "project")
    left = {p.suffix for p in moved.rglob("*") if p.is_file()}
    assert not left & {".c", ".h", ".o", ".obj", ".a"}  # sources and intermediates stayed home


def test_pack_skips_and_unpack_refuses_to_overwrite(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "src"
    (source / "build").mkdir(parents=True)
    (source / "sub").mkdir()
    (source / "build" / "main.o").write_bytes(b"o")
    (source / "sub" / "a.c").write_text("int a;")
    (source / "run.sh").write_text("#!/bin/sh\n")
    (source / "run.sh").chmod(0o755)
    unpacked = unpack_directory(pack_directory(source, skip=("build",)), tmp_path / "dst")
    assert sorted(str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()) == [
        "run.sh",
        "sub/a.c",
    ]
    assert (unpacked / "run.sh").stat().st_mode & 0o111  # programs stay runnable
    with pytest.raises(UnsafeArchiveError):
        unpack_directory(pack_directory(source), unpacked)  # never replaces a file
