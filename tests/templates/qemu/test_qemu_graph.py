"""Graph-executor archives on a Cortex-M4F board: standalone and host-driven, both executors."""

from __future__ import annotations

import contextlib

import pytest
from host.host_testlib import (
    GRAPH_ARCHIVES,
    archive,
    assert_matches,
    check_standalone,
    graph_runner,
    reference,
)

import projectapi
from projectapi.errors import ProjectAPIError

from .qemu_testlib import generate, qemu_pids

BOARD = "mps2-an386"


@pytest.mark.slow
@pytest.mark.parametrize("name", GRAPH_ARCHIVES)
def test_graph_standalone_matches_reference(name: str, tmp_path) -> None:
    project_dir = tmp_path / "project"
    with generate(archive(name), project_dir, BOARD, "aot_standalone") as project:
        check_standalone(project, name, repeat=2)
    assert qemu_pids(project_dir) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", GRAPH_ARCHIVES)
def test_graph_host_driven_on_device_and_walked_on_host(name: str, tmp_path) -> None:
    project_dir = tmp_path / "project"
    x, want = reference(name)
    with (
        generate(archive(name), project_dir, BOARD, "host_driven") as project,
        projectapi.Session(project.transport()) as session,
    ):
        for where in ("device", "host"):
            with contextlib.closing(graph_runner(session, name, where)) as runner:
                runner.set_inputs({"Input3": x})
                runner.run()
                assert_matches(runner.get_outputs()["output"], want)
    assert qemu_pids(project_dir) == []


@pytest.mark.slow
def test_graph_model_too_big_for_the_board_is_refused_at_build(tmp_path) -> None:
    # 24 KB of weights in the executor's storage plus the RPC server's buffers do not fit a
    # 128 KiB chip (the standalone program, without the RPC server, just fits).
    with pytest.raises(ProjectAPIError, match=r"RAM overflows by \d+ bytes.*workspace pool"):
        generate(archive("mnist_graph_params"), tmp_path / "p", "mps2-an385", "host_driven")
    assert not (tmp_path / "p" / "build" / "firmware.elf").exists()
