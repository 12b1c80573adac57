"""Build once, link many: the second host project of a configuration compiles only its model."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from projectapi.project import TemplateProject

from .host_testlib import archive

NAME = "mnist_aot_c"
RUNTIME_OBJECT = "CMakeFiles/crt_common.dir/"
KIT_OBJECT = "CMakeFiles/projectapi_kit.dir/"
MODEL_OBJECT = "CMakeFiles/model_code.dir/"


def _generate(where: pathlib.Path, **options: str) -> pathlib.Path:
    with TemplateProject("host") as template:
        template.generate_project(archive(NAME), where, options).close()
    return where


def _build(project_dir: pathlib.Path, cache: pathlib.Path) -> subprocess.Popen:
    """``projectapi build`` of ``project_dir`` with ``cache`` as the build cache (not waited)."""
    env = dict(os.environ, PROJECTAPI_CACHE_DIR=str(cache))
    return subprocess.Popen(
        [sys.executable, "-m", "projectapi", "build", str(project_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _build_log(project_dir: pathlib.Path, cache: pathlib.Path) -> str:
    """The compiler log of a successful build."""
    proc = _build(project_dir, cache)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    return stderr


def _run(project_dir: pathlib.Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "projectapi", "run", str(project_dir), "--input",
         f"Input3={archive(NAME).with_suffix('.input.npy')}"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_second_project_compiles_only_its_model_and_a_change_misses(tmp_path) -> None:
    cache = tmp_path / "cache"
    first = _build_log(_generate(tmp_path / "first"), cache)
    assert RUNTIME_OBJECT in first and KIT_OBJECT in first and MODEL_OBJECT in first
    second_dir = _generate(tmp_path / "second")
    second = _build_log(second_dir, cache)
    assert RUNTIME_OBJECT not in second and KIT_OBJECT not in second
    assert MODEL_OBJECT in second and "prebuilt from the cache" in second
    assert "prebuilt/runtime " in second and "prebuilt/firmware_kit " in second
    _run(second_dir)  # what was linked from the cache works
    flags = _build_log(_generate(tmp_path / "flags", cflags="-DPROJECTAPI_TEST_FLAG=1"), cache)
    assert RUNTIME_OBJECT in flags and KIT_OBJECT in flags
    edited = _generate(tmp_path / "edited")
    source = edited / "runtime" / "src" / "common" / "ndarray.c"
    source.write_text(source.read_text() + "\n/* a local change */\n")
    log = _build_log(edited, cache)
    assert RUNTIME_OBJECT in log and KIT_OBJECT not in log  # only the runtime part missed


@pytest.mark.slow
def test_concurrent_builders_of_one_configuration_share_a_whole_entry(tmp_path) -> None:
    cache = tmp_path / "cache"
    projects = [_generate(tmp_path / f"p{i}") for i in range(2)]
    builds = [_build(project, cache) for project in projects]
    for proc in builds:
        _, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
    for part in ("runtime", "firmware_kit"):
        entries = [p for p in (cache / part).iterdir() if p.is_dir()]
        assert len(entries) == 1, entries  # no half-written or duplicate entry left
        assert (entries[0] / "complete").is_file()
    third = _generate(tmp_path / "third")
    assert RUNTIME_OBJECT not in _build_log(third, cache)
    _run(third)
