"""User errors on the host template: each gives one clear message and leaves nothing behind."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from projectapi.errors import ProjectAPIError
from projectapi.project import GeneratedProject, TemplateProject

from .host_testlib import archive


def _leftovers(parent) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


def test_existing_project_dir_is_refused_and_untouched(tmp_path) -> None:
    target = tmp_path / "project"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with TemplateProject("host") as template, pytest.raises(ProjectAPIError, match="exists"):
        template.generate_project(archive("mnist_aot_c"), target)
    assert _leftovers(target) == ["keep.txt"]
    assert _leftovers(tmp_path) == ["project"]


@pytest.mark.parametrize(
    ("archive_name", "options", "message"),
    [
        ("mnist_aot_c", {"project_type": "graph_only"}, "project_type"),
        ("mnist_aot_c", {"compile_definitions": "-DOK=1 --bad"}, "compile_definitions"),
        ("mnist_aot_c", {"extra_files_tar": "/nonexistent/extra.tar"}, "extra_files_tar"),
    ],
)
def test_failed_generate_leaves_nothing(tmp_path, archive_name, options, message) -> None:
    with TemplateProject("host") as template, pytest.raises(ProjectAPIError, match=message):
        template.generate_project(archive(archive_name), tmp_path / "a" / "project", options)
    assert _leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def unbuilt_project(tmp_path_factory) -> GeneratedProject:
    target = tmp_path_factory.mktemp("unbuilt") / "project"
    with TemplateProject("host") as template:
        project = template.generate_project(
            archive("qnn_dense_int8_aot_c"), target, {"cflags": "-fno-such-flag-anywhere"}
        )
    yield project
    project.close()


def test_flash_says_there_is_nothing_to_do(unbuilt_project, capfd) -> None:
    with GeneratedProject(unbuilt_project.project_dir) as project:
        project.flash()
    assert "nothing to flash" in capfd.readouterr().err


def test_transport_before_build_names_the_fix(unbuilt_project) -> None:
    with pytest.raises(ProjectAPIError, match="run build first"):
        unbuilt_project.transport().open()


@pytest.mark.slow
def test_broken_compiler_flag_gives_one_clear_error(unbuilt_project) -> None:
    with pytest.raises(ProjectAPIError) as caught:
        unbuilt_project.build()
    message = str(caught.value)
    assert "-fno-such-flag-anywhere" in message
    assert "error" in message
    assert "\n" not in message


@pytest.mark.slow
def test_standalone_program_rejects_a_wrong_input_file(tmp_path) -> None:
    target = tmp_path / "project"
    with TemplateProject("host") as template:
        project = template.generate_project(archive("qnn_dense_int8_aot_c"), target)
    with project:
        project.build()
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((1, 64), dtype=np.float32))
    short = tmp_path / "short.bin"
    short.write_bytes(b"\x01" * 10)
    for bad_file, expected in ((wrong, "dtype |i1"), (short, "exactly 64 data bytes")):
        done = subprocess.run(
            [str(target / "build" / "main"), "--input", str(bad_file)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode != 0
        assert expected in done.stderr
        assert str(bad_file) in done.stderr
