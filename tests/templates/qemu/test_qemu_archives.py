"""Every real AOT archive on every board, standalone and host-driven, equal to the reference."""

from __future__ import annotations

import json

import pytest
from host.host_testlib import AOT_ARCHIVES, archive, assert_matches, check_standalone, reference

import projectapi

from .qemu_testlib import SOCKET_BOARDS, generate, qemu_pids

CASES = [(board, name) for board in SOCKET_BOARDS for name in AOT_ARCHIVES]


@pytest.mark.slow
@pytest.mark.parametrize(("board", "name"), CASES)
def test_standalone_matches_reference(board: str, name: str, tmp_path) -> None:
    project_dir = tmp_path / "project"
    with generate(archive(name), project_dir, board, "aot_standalone") as project:
        report = json.loads((project_dir / "memory_report.json").read_text())
        assert 0 < report["flash_used"] <= report["flash_limit"]
        assert 0 < report["ram_used"] <= report["ram_limit"]
        assert report["flash_by_category"]["runtime"] > 0
        assert report["flash_by_category"]["model"] > report["flash_by_category"]["runtime"]
        check_standalone(project, name, repeat=2)
    assert qemu_pids(project_dir) == []


@pytest.mark.slow
@pytest.mark.parametrize(("board", "name"), CASES)
def test_host_driven_matches_reference(board: str, name: str, tmp_path) -> None:
    project_dir = tmp_path / "project"
    x, want = reference(name)
    with generate(archive(name), project_dir, board, "host_driven") as project:
        report = json.loads((project_dir / "memory_report.json").read_text())
        # The RPC server makes the runtime a real share of the image.
        assert report["flash_by_category"]["runtime"] > 4096
        with projectapi.Session(project.transport()) as session:
            executor = session.create_aot_executor()
            executor.set_input(0, x)
            executor.run()
            assert_matches(executor.get_output(0), want)
            timing = executor.benchmark(number=1, repeat=2)
            assert all(t > 0 for t in timing.results)
    assert qemu_pids(project_dir) == []
