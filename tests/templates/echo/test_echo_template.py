"""The echo template end to end: conformance, a self-contained generated project, verbose logs."""

from __future__ import annotations

import filecmp
import pathlib

import pytest

import microtvm_kit
from projectapi import conformance, project

_TEMPLATES = project.TEMPLATES_DIR


@pytest.fixture
def generated(tmp_path: pathlib.Path, mlf: pathlib.Path) -> pathlib.Path:
    """A project generated from the echo template."""
    target = tmp_path / "project"
    with project.TemplateProject("echo") as template:
        template.generate_project(mlf, target).close()
    return target


def _failures(results: list[conformance.CheckResult]) -> list[conformance.CheckResult]:
    return [result for result in results if result.status == "fail"]


def test_template_passes_the_conformance_checks() -> None:
    results = conformance.run_checks("echo")
    assert _failures(results) == []
    skipped = {result.name for result in results if result.status == "skip"}
    assert "transport round trip" in skipped  # a template has no transport


def test_generated_project_passes_every_check_including_the_echo(generated) -> None:
    results = {result.name: result for result in conformance.run_checks(generated)}
    assert _failures(list(results.values())) == []
    assert all(result.status == "pass" for result in results.values())
    assert "echoed back" in results["transport round trip"].detail


def test_generated_project_is_self_contained(generated, mlf) -> None:
    names = sorted(path.name for path in generated.iterdir())
    assert names == ["microtvm_api_server.py", "microtvm_kit", "model.tar"]
    kit_copy = generated / "microtvm_kit"
    assert filecmp.cmp(kit_copy / "server.py", microtvm_kit.KIT_DIR / "server.py", shallow=False)
    assert (kit_copy / "runtime" / "include").is_dir()
    assert filecmp.cmp(
        generated / "microtvm_api_server.py",
        _TEMPLATES / "echo" / "microtvm_api_server.py",
        shallow=False,
    )
    kit = generated / "microtvm_kit"
    assert (kit / "process_transport.py").is_file() and (kit / "staging.py").is_file()
    assert not list(generated.rglob("__pycache__"))
    assert (generated / "model.tar").read_bytes() == mlf.read_bytes()


def test_build_and_flash_say_they_do_nothing(generated, capfd) -> None:
    with project.GeneratedProject(generated) as opened:
        opened.build()
        opened.flash()
    err = capfd.readouterr().err
    assert "nothing to build" in err
    assert "nothing to flash" in err


def test_verbose_transport_logs_every_read_and_write(generated, capfd) -> None:
    with project.GeneratedProject(generated) as opened:
        with opened.transport({"verbose": True}) as transport:
            transport.write(b"hello", 5.0)
            received = b""
            while len(received) < 5:
                received += transport.read(5 - len(received), 5.0)
        assert received == b"hello"
    err = capfd.readouterr().err
    assert "echo: wrote 5 bytes" in err
    assert "echo: read " in err


def test_reopening_the_transport_starts_a_fresh_child(generated) -> None:
    with project.GeneratedProject(generated) as opened:
        first = opened.transport()
        first.open()
        first.write(b"stale", 5.0)
        second = opened.transport()
        second.open()  # replaces the child: the unread bytes are gone
        second.write(b"new", 5.0)
        received = b""
        while len(received) < 3:
            received += second.read(3, 5.0)
        assert received == b"new"
        second.close()


def _processes_in(directory: pathlib.Path) -> list[int]:
    """Pids of processes whose working directory is ``directory`` (Linux /proc)."""
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cwd").resolve() == directory:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def test_closing_the_project_stops_an_open_transports_child(generated) -> None:
    with project.GeneratedProject(generated) as opened:
        opened.transport().open()
        assert len(_processes_in(generated)) == 2  # the server and its echo child
    assert _processes_in(generated) == []
