"""A project built in one folder, packed to bytes and unpacked elsewhere (as it travels to a
board's node) still flashes and runs there: host and QEMU templates, real builds."""

from __future__ import annotations

import pathlib
import shutil

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


@pytest.mark.slow
@pytest.mark.parametrize("template", sorted(TARGETS))
def test_built_project_runs_after_moving(template: str, tmp_path: pathlib.Path) -> None:
    target = tune.Target.from_strings(template, TARGETS[template])
    candidate = tune.Candidate.from_path(make.good(tmp_path / "good.tar", passes=3))
    built_dir = tmp_path / "built"
    project, _ = generate_and_build(candidate, target, built_dir, Clock())
    project.close()
    packed = pack_directory(built_dir)
    shutil.rmtree(built_dir)  # nothing of the original folder is left to lean on
    moved = unpack_directory(packed, tmp_path / "elsewhere" / "project")
    reference = tune.Reference.random_for(candidate.archive, seed=1)
    with GeneratedProject(moved) as project:
        times, outputs = measure_built(
            project, candidate, target, tune.TimeEvaluator(repeat=2), reference, Clock()
        )
    assert len(times) == 2 and all(t > 0 for t in times)
    (x,) = reference.inputs.values()
    assert (outputs["output"] == x * 2).all()


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
