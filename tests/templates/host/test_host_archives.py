"""Every real archive (AOT and graph): generate, warning-free build, runs equal to the reference."""

from __future__ import annotations

import contextlib
import subprocess

import numpy as np
import pytest

from projectapi.project import TemplateProject

from .host_testlib import (
    AOT_ARCHIVES,
    GRAPH_ARCHIVES,
    archive,
    assert_matches,
    check_standalone,
    graph_runner,
    layouts,
    reference,
)


@pytest.mark.slow
@pytest.mark.parametrize("name", AOT_ARCHIVES + GRAPH_ARCHIVES)
def test_archive_builds_warning_free_and_matches_reference(name: str, tmp_path) -> None:
    project_dir = tmp_path / "project"
    with TemplateProject("host") as template:
        project = template.generate_project(archive(name), project_dir, {"warning_as_error": True})
    x, want = reference(name)
    with project:
        project.build()  # -Werror: any diagnostic outside the known generated ones fails
        program = project_dir / "build" / "main"
        stamp = program.stat().st_mtime_ns
        dry_run = subprocess.run(
            ["ninja", "-C", str(project_dir / "build"), "-n"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "no work to do" in dry_run.stdout
        project.build()
        assert program.stat().st_mtime_ns == stamp

        check_standalone(project, name, repeat=3)

    # The same program used directly, without a transport.
    x_file, out_file = tmp_path / "x.npy", tmp_path / "out.npy"
    np.save(x_file, x)
    done = subprocess.run(
        [str(program), "--input", str(x_file), "--output", str(out_file), "--repeat", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "runs: 5" in done.stdout
    assert_matches(np.load(out_file), want)


@pytest.mark.slow
@pytest.mark.parametrize("name", AOT_ARCHIVES)
def test_archive_runs_host_driven(name: str, tmp_path) -> None:
    from projectapi import micro

    project_dir = tmp_path / "project"
    with TemplateProject("host") as template:
        project = template.generate_project(
            archive(name), project_dir, {"project_type": "host_driven", "warning_as_error": True}
        )
    ins, _ = layouts(name)
    x, want = reference(name)
    with project:
        project.build()
        with micro.Session(project.transport()) as session:
            executor = session.create_aot_executor("default")
            executor.set_input(0, x.reshape(ins[0].shape))
            executor.run()
            assert_matches(executor.get_output(0), want)
            timing = executor.benchmark(number=3, repeat=2)
            assert len(timing.results) == 2 and timing.min > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", GRAPH_ARCHIVES)
def test_graph_archive_runs_host_driven_on_device_and_walked_on_host(name: str, tmp_path) -> None:
    from projectapi import micro

    with TemplateProject("host") as template:
        project = template.generate_project(
            archive(name), tmp_path / "p", {"project_type": "host_driven", "warning_as_error": True}
        )
    x, want = reference(name)
    with project:
        project.build()
        with micro.Session(project.transport()) as session:
            for where in ("device", "host"):
                with contextlib.closing(graph_runner(session, name, where)) as runner:
                    runner.set_inputs({"Input3": x})
                    runner.run()
                    assert_matches(runner.get_outputs()["output"], want)
