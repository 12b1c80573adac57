"""``projectapi run`` and ``projectapi demo`` as a user runs them: real processes, real builds."""

from __future__ import annotations

import io
import json
import pathlib
import shutil
import subprocess
import sys
import tarfile
import time

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
    report = json.loads(done.stdout)["result"]
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
    done = _cli("demo", "--repeat", "1", "--json")
    envelope = json.loads(done.stdout)
    assert envelope["command"] == "demo" and envelope["ok"] is True
    assert envelope["result"]["match"] is True and envelope["result"]["runs"] == 1


@pytest.mark.slow
def test_run_host_driven_project_with_device_benchmark(tmp_path) -> None:
    name = "mnist_aot_packed"  # no system library: runs through the generated registry
    target = tmp_path / "project"
    with TemplateProject("host") as template:
        template.generate_project(
            MLF_DIR / f"{name}.tar", target, {"project_type": "host_driven"}
        ).close()
    done = _cli(
        "run",
        str(target),
        "--input",
        f"Input3={MLF_DIR / name}.input.npy",
        "--benchmark",
        "20",
        "--profile",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["result"]
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
        done = _cli(
            "run",
            str(target),
            "--input",
            f"Input3={MLF_DIR / name}.input.npy",
            "--profile",
            "--json",
            *extra,
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)["result"]
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


@pytest.fixture
def fresh_project(tmp_path) -> pathlib.Path:
    """A generated, never built host project."""
    target = tmp_path / "fresh"
    with TemplateProject("host") as template:
        template.generate_project(MLF_DIR / f"{NAME}.tar", target).close()
    return target


def _bad_input_cases(tmp: pathlib.Path) -> list[tuple[list[str], str]]:
    image = np.zeros((1, 1, 28, 28), np.float32)
    np.savez(tmp / "x.npz", Input3=image)
    (tmp / "x.txt").write_text("0.5 0.25\n")
    np.save(tmp / "flat.npy", np.zeros((28, 28), np.float32))
    np.save(tmp / "x.npy", image)
    (tmp / "taken").write_text("")
    return [
        (["--input", f"Input3={tmp / 'x.npz'}"], "is an .npz archive"),
        (["--input", f"Input3={tmp / 'x.txt'}"], "is not a .npy file"),
        (["--input", f"Input3={tmp / 'flat.npy'}"], "holds shape [28, 28]"),
        (["--input", f"Input3={tmp / 'x.npy'}", "--input", f"Input3={tmp / 'x.npy'}"],
         "--input Input3 is given twice"),
        (["--seed", "-1"], "--seed must be 0 or more"),
        (["--output", str(tmp / "taken")], "exists and is not a directory"),
        (["--timeout", "0"], "--timeout must be more than 0"),
    ]


def test_run_refuses_bad_inputs_and_options_before_building(fresh_project, tmp_path) -> None:
    for extra, message in _bad_input_cases(tmp_path):
        done = _cli("run", str(fresh_project), *extra)
        assert done.returncode == 1, (extra, done.stderr)
        assert done.stderr.startswith("error:") and message in done.stderr, (extra, done.stderr)
        assert "Traceback" not in done.stderr and "pickled" not in done.stderr
    assert not (fresh_project / "build").exists()  # refused before any work


@pytest.mark.slow
def test_run_reshape_takes_a_flat_input_and_o_options_reach_the_build(project_dir, tmp_path) -> None:
    flat = np.load(MLF_DIR / f"{NAME}.input.npy").reshape(28, 28)
    np.save(tmp_path / "flat.npy", flat)
    done = _cli("run", str(project_dir), "--input", f"Input3={tmp_path / 'flat.npy'}",
                "--reshape", "-o", "verbose=true", "--json")
    assert done.returncode == 0, done.stderr
    got = np.array(json.loads(done.stdout)["result"]["outputs"]["output"]["data"], dtype=np.float32)
    want = np.load(MLF_DIR / f"{NAME}.output.npy").reshape(-1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _renamed_output_archive(tmp: pathlib.Path, new_name: str) -> pathlib.Path:
    """The MNIST archive (packed API: names do not reach the C code) with its output renamed."""
    source = MLF_DIR / "mnist_aot_packed.tar"
    target = tmp / "renamed.tar"
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read() if member.isfile() else None
            if member.name.endswith("metadata.json"):
                metadata = json.loads(data)
                main = metadata["modules"]["default"]["memory"]["functions"]["main"][0]
                main["outputs"] = {new_name: main["outputs"]["output"]}
                data = json.dumps(metadata).encode()
                member.size = len(data)
            new.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


@pytest.mark.slow
def test_run_output_names_never_become_paths(tmp_path) -> None:
    hostile = "../../escaped"
    target = tmp_path / "a" / "b" / "project"
    with TemplateProject("host") as template:
        template.generate_project(MLF_DIR / "mnist_aot_packed.tar", target).close()
    # create refuses such an archive; a project whose model.tar was replaced later still must
    # not write outside the output directory.
    shutil.copy(_renamed_output_archive(tmp_path, hostile), target / "model.tar")
    out_dir = tmp_path / "a" / "b" / "out"
    done = _cli("run", str(target), "--output", str(out_dir))
    assert done.returncode == 0, done.stderr
    assert [p.parent for p in tmp_path.rglob("escaped*")] == [out_dir]
    index = json.loads((out_dir / "outputs.json").read_text())
    assert index == {hostile: "escaped.npy"} and (out_dir / "escaped.npy").is_file()
    assert f"output {hostile!r} -> {out_dir / 'escaped.npy'}" in done.stderr


@pytest.mark.slow
def test_two_runs_on_a_fresh_project_both_succeed(fresh_project) -> None:
    command = [sys.executable, "-m", "projectapi", "run", str(fresh_project)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [(proc.wait(timeout=300), *proc.communicate()) for proc in runs]
    for status, _, stderr in results:
        assert status == 0, stderr
    assert any("waiting for another build" in stderr for _, _, stderr in results)


def test_run_on_an_echo_project_says_at_once_it_runs_no_model(tmp_path, mlf) -> None:
    target = tmp_path / "echo"
    with TemplateProject("echo") as template:
        template.generate_project(mlf, target).close()
    shutil.copy(MLF_DIR / f"{NAME}.tar", target / "model.tar")  # a real model in it
    start = time.monotonic()
    done = _cli("run", str(target))
    assert done.returncode == 1
    assert "the echo template runs no model" in done.stderr
    assert time.monotonic() - start < 20


def test_info_on_a_hung_server_ends_at_its_timeout(tmp_path) -> None:
    (tmp_path / "microtvm_api_server.py").write_text("import time\ntime.sleep(600)\n")
    start = time.monotonic()
    done = _cli("info", str(tmp_path), "--timeout", "1")
    assert done.returncode == 1 and "did not answer server_info_query within 1 s" in done.stderr
    assert time.monotonic() - start < 15


@pytest.mark.slow
def test_info_on_a_hung_server_ends_soon_by_default(tmp_path) -> None:
    (tmp_path / "microtvm_api_server.py").write_text("import time\ntime.sleep(600)\n")
    start = time.monotonic()
    done = _cli("info", str(tmp_path))
    assert done.returncode == 1 and "did not answer server_info_query" in done.stderr
    assert time.monotonic() - start < 25
