"""``projectapi run`` and ``projectapi demo`` as a user runs them: real processes, real builds."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from support.data import MLF_DIR

from projectapi.project import TemplateProject

NAME = "mnist_aot_c"


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "projectapi", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory) -> pathlib.Path:
    target = tmp_path_factory.mktemp("run") / "project"
    with TemplateProject("host") as template:
        template.generate_project(MLF_DIR / f"{NAME}.tar", target).close()
    return target  # not built: the first run builds it


@pytest.mark.slow
def test_run_matches_reference_and_writes_outputs(project_dir, tmp_path) -> None:
    out_dir = tmp_path / "out"
    done = _cli(
        "run",
        str(project_dir),
        "--input",
        f"Input3={MLF_DIR / NAME}.input.npy",
        "--output",
        str(out_dir),
        "--print-top",
        "3",
        "--repeat",
        "4",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    want = np.load(MLF_DIR / f"{NAME}.output.npy")
    got = np.array(report["outputs"]["output"]["data"], dtype=np.float32)
    np.testing.assert_allclose(got, want.reshape(-1), rtol=1e-5, atol=1e-6)
    assert report["runs"] == 4
    assert report["outputs"]["output"]["top"][0][0] == int(np.argmax(want))
    np.testing.assert_allclose(np.load(out_dir / "output.npy"), want, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_run_without_inputs_is_seeded_random_and_says_so(project_dir) -> None:
    first = _cli("run", str(project_dir), "--seed", "5", "--print-top", "2")
    second = _cli("run", str(project_dir), "--seed", "5", "--print-top", "2")
    assert first.returncode == 0, first.stderr
    assert "input Input3: random float32 [1, 1, 28, 28] (seed 5)" in first.stderr
    assert "top 2:" in first.stdout and "time per run" in first.stdout
    outputs = [line for line in first.stdout.splitlines() if not line.startswith("time")]
    assert outputs == [line for line in second.stdout.splitlines() if not line.startswith("time")]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--input", "nope=x.npy"], "no input 'nope'"),
        (["--input", "Input3"], "NAME=FILE.npy"),
    ],
)
def test_run_bad_input_gives_one_clear_error(project_dir, extra, message) -> None:
    done = _cli("run", str(project_dir), *extra)
    assert done.returncode == 1
    assert done.stderr.startswith("error:") and message in done.stderr
    assert "Traceback" not in done.stderr


def test_run_on_a_non_project_names_the_problem(tmp_path) -> None:
    done = _cli("run", str(tmp_path))
    assert done.returncode == 1
    assert "model.tar" in done.stderr
    missing = _cli("run", str(tmp_path / "absent"))
    assert missing.returncode == 1
    assert "absent does not exist" in missing.stderr


@pytest.mark.slow
def test_demo_matches_the_numpy_reference(tmp_path) -> None:
    done = _cli("demo", "--project-dir", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    assert "MATCH" in done.stdout and "MISMATCH" not in done.stdout
    assert "numpy:" in done.stdout and "device:" in done.stdout
    assert (tmp_path / "demo" / "build" / "main").is_file()


@pytest.mark.slow
def test_run_host_driven_project_with_device_benchmark(tmp_path) -> None:
    name = "mnist_aot_packed"  # no system library: runs through the generated registry
    target = tmp_path / "project"
    with TemplateProject("host") as template:
        template.generate_project(
            MLF_DIR / f"{name}.tar", target, {"project_type": "host_driven"}
        ).close()
    done = _cli("run", str(target), "--input", f"Input3={MLF_DIR / name}.input.npy",
                "--benchmark", "20", "--profile", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    want = np.load(MLF_DIR / f"{name}.output.npy")
    got = np.array(report["outputs"]["output"]["data"], dtype=np.float32)
    np.testing.assert_allclose(got, want.reshape(-1), rtol=1e-5, atol=1e-6)
    assert report["runs"] == 20 and report["clock"].startswith("device clock, fastest of")
    assert 0 < report["fastest_seconds"] <= report["mean_seconds"] * 1.0001
    # An AOT model's operators cannot be timed one by one: the run says so instead of failing.
    assert "generated main" in report["profile"]["unavailable"]


@pytest.mark.slow
def test_run_graph_model_host_driven_on_device_and_walked_on_host(tmp_path) -> None:
    name = "mnist_graph_params"  # weights loaded from parameters/default.params
    target = tmp_path / "project"
    with TemplateProject("host") as template:
        template.generate_project(
            MLF_DIR / f"{name}.tar", target, {"project_type": "host_driven"}
        ).close()
    want = np.load(MLF_DIR / f"{name}.output.npy").reshape(-1)
    for extra in ([], ["--graph-executor", "host"]):
        done = _cli("run", str(target), "--input", f"Input3={MLF_DIR / name}.input.npy",
                    "--profile", "--json", *extra)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        got = np.array(report["outputs"]["output"]["data"], dtype=np.float32)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        profile = report["profile"]
        assert len(profile["operators"]) == 8
        assert all(op["seconds"] > 0 for op in profile["operators"])
        assert sum(op["share"] for op in profile["operators"]) == pytest.approx(1.0)
        assert profile["total_to_whole_run"] == pytest.approx(1.0, abs=0.1)
    table = _cli("run", str(target), "--profile").stdout
    rows = [line for line in table.splitlines() if "tvmgen_default_fused" in line]
    times = [float(row.split()[-2]) for row in rows]
    assert len(rows) == 8 and times == sorted(times, reverse=True)
    assert "of the whole run" in table


def test_profile_on_a_standalone_project_is_refused(project_dir) -> None:
    done = _cli("run", str(project_dir), "--profile")
    assert done.returncode == 1
    assert "--profile needs a host_driven project" in done.stderr


def test_graph_executor_choice_on_an_aot_model_is_refused(project_dir) -> None:
    done = _cli("run", str(project_dir), "--graph-executor", "host")
    assert done.returncode == 1
    assert "--graph-executor applies to graph models in host_driven projects" in done.stderr
