"""TemplateProject / GeneratedProject over real server processes (echo and a recording template)."""

from __future__ import annotations

import os
import pathlib
import re

import pytest

from projectapi import project, server
from projectapi.errors import ProjectAPIError
from projectapi.mlf import MLFError


def _child_pids() -> set[int]:
    """Processes whose parent is this test process (Linux /proc)."""
    children = set()
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                children.add(int(entry.name))
    return children


def test_echo_flow_generate_build_flash_and_transport(tmp_path, mlf) -> None:
    target = tmp_path / "nested" / "project"
    with project.TemplateProject("echo") as template:
        assert template.info.is_template is True
        assert template.info.platform_name == "echo"
        with template.generate_project(mlf, target) as generated:
            assert isinstance(generated, project.GeneratedProject)
            assert generated.project_dir == target
            assert generated.info.model_library_format_path == str(target / "model.tar")
            assert (target / "model.tar").read_bytes() == mlf.read_bytes()
            assert generated.build() is None
            assert generated.flash() is None
            payload = os.urandom(200_000)
            with generated.transport({"verbose": False}) as transport:
                assert transport.timeouts == server.TransportTimeouts(2.0, 5.0, 5.0)
                received = bytearray()
                for start in range(0, len(payload), 16384):
                    chunk = payload[start : start + 16384]
                    transport.write(chunk, 5.0)
                    expected = len(received) + len(chunk)
                    while len(received) < expected:
                        received += transport.read(expected - len(received), 5.0)
                assert bytes(received) == payload
                with pytest.raises(server.IoTimeoutError):
                    transport.read(1, 0.1)
            with pytest.raises(server.TransportClosedError):
                transport.read(1, 0.1)
            with pytest.raises(ProjectAPIError, match="not open"):
                _ = transport.timeouts
    assert not _child_pids()


def test_relative_paths_are_made_absolute(tmp_path, monkeypatch, mlf, recorder, recorded) -> None:
    work = tmp_path / "work"
    work.mkdir()
    mlf.rename(work / "model.tar")
    monkeypatch.chdir(work)
    with project.TemplateProject(recorder) as template:
        template.generate_project("model.tar", "out", {"board": "a"}).close()
    (call,) = recorded(recorder, "generate_project")
    assert call["model_library_format_path"] == str(work / "model.tar")
    assert call["project_dir"] == str(work / "out")
    # A template of its own gets the runtime in TVM's layout, for the call only.
    runtime = pathlib.Path(call["standalone_crt_dir"])
    assert runtime.is_absolute() and runtime.name == "standalone_crt"
    assert not runtime.exists()
    assert (work / "out" / "generated").exists()


def test_defaults_are_sent_without_touching_the_callers_dict(tmp_path, mlf, recorder, recorded):
    given = {"board": "b", "jobs": 8}
    with (
        project.TemplateProject(recorder) as template,
        template.generate_project(mlf, tmp_path / "out", given) as generated,
    ):
        generated.build(given)
        generated.flash(given)
        generated.transport(given).open()
    assert given == {"board": "b", "jobs": 8}
    assert recorded(recorder, "generate_project")[0]["options"] == {"board": "b", "verbose": False}
    out = tmp_path / "out"
    assert recorded(out, "build") == [{"options": {"jobs": 8, "verbose": False}}]
    assert recorded(out, "flash") == [{"options": {"board": "b"}}]
    assert recorded(out, "open_transport") == [{"options": {}}]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "generate_project requires option board (str, one of a|b)"),
        ({"board": "c"}, "option 'board' must be one of a, b, got c"),
        ({"board": "a", "verbose": "no"}, "option 'verbose' must be of type bool, got str no"),
        ({"board": "a", "colour": 1}, "unknown option 'colour'; allowed: board"),
    ],
)
def test_invalid_options_never_reach_the_server(
    tmp_path, mlf, recorder, recorded, options, message
):
    with (
        project.TemplateProject(recorder) as template,
        pytest.raises(project.OptionError, match=re.escape(message)),
    ):
        template.generate_project(mlf, tmp_path / "out", options)
    assert recorded(recorder, "generate_project") == []
    assert not (tmp_path / "out").exists()


def test_failed_generate_leaves_nothing_behind(tmp_path) -> None:
    not_a_tar = tmp_path / "model.txt"
    not_a_tar.write_text("this is not a tar archive\n" * 100)
    parent = tmp_path / "deep"
    with (
        project.TemplateProject("echo") as template,
        pytest.raises(MLFError, match=r"model\.txt: not a readable tar archive"),
    ):
        template.generate_project(not_a_tar, parent / "more" / "project")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.txt"]


def test_bad_paths_are_refused_before_the_server_is_called(tmp_path, mlf, recorder, recorded):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with project.TemplateProject(recorder) as template:
        with pytest.raises(project.ProjectPathError, match="already exists"):
            template.generate_project(mlf, tmp_path / "taken", {"board": "a"})
        with pytest.raises(project.ProjectPathError, match="is not a file"):
            template.generate_project(tmp_path / "missing.tar", tmp_path / "new", {"board": "a"})
        with pytest.raises(project.ProjectPathError, match="is not a directory"):
            template.generate_project(mlf, tmp_path / "new", {"board": "a"}, tmp_path / "no-crt")
    assert recorded(recorder, "generate_project") == []
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"


def test_wrong_kind_of_project_is_refused_and_its_server_stopped(tmp_path, mlf) -> None:
    with project.TemplateProject("echo") as template:
        template.generate_project(mlf, tmp_path / "p").close()
    with pytest.raises(project.ProjectKindError, match="is a template, not a generated project"):
        project.GeneratedProject("echo")
    with pytest.raises(project.ProjectKindError, match="is a generated project, not a template"):
        project.TemplateProject(tmp_path / "p")
    assert not _child_pids()
    opened = project.open_project(tmp_path / "p")
    with opened:
        assert isinstance(opened, project.GeneratedProject)
        assert [option.name for option in opened.options] == ["verbose"]
    with project.open_project("echo") as opened:
        assert isinstance(opened, project.TemplateProject)
    assert not _child_pids()
