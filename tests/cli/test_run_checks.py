"""``projectapi run --expect`` / ``--junit-xml``: comparison, expected files, the JUnit report,
and the exit status a CI system sees, on a real host project."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from support.data import MLF_DIR

from projectapi.cli import run_checks
from projectapi.project import TemplateProject

QNN = "qnn_dense_int8_aot_c"
INPUT = f"x={MLF_DIR / QNN}.input.npy"


def test_compare_within_and_beyond_tolerance() -> None:
    want = {"y": np.array([1.0, 2.0, 3.0], dtype=np.float32)}
    assert run_checks.compare({"y": want["y"] + 1e-7}, want) == []
    (mismatch,) = run_checks.compare({"y": np.array([1.0, 2.5, 3.0], np.float32)}, want)
    assert mismatch.output == "y"
    assert "1 of 3 values differ" in mismatch.text and "got 2.5, expected 2" in mismatch.text
    assert run_checks.compare({"y": np.array([1.0, 2.5, 3.0])}, want, atol=0.5) == []
    (size,) = run_checks.compare({"y": np.zeros(2)}, want)
    assert "2 values, expected 3" in size.text


def test_load_expected_npy_and_npz(tmp_path: pathlib.Path) -> None:
    np.save(tmp_path / "one.npy", np.arange(3))
    assert list(run_checks.load_expected(tmp_path / "one.npy", ["y"])) == ["y"]
    with pytest.raises(run_checks.ExpectError, match=r"give their expected values as one \.npz"):
        run_checks.load_expected(tmp_path / "one.npy", ["a", "b"])
    np.savez(tmp_path / "named.npz", b=np.ones(2), a=np.zeros(2))
    loaded = run_checks.load_expected(tmp_path / "named.npz", ["a", "b"])
    assert loaded["a"].sum() == 0 and loaded["b"].sum() == 2
    np.savez(tmp_path / "ordered.npz", np.zeros(2), np.ones(2))
    assert run_checks.load_expected(tmp_path / "ordered.npz", ["a", "b"])["b"].sum() == 2
    with pytest.raises(run_checks.ExpectError, match="holds a, b; the model's outputs are a, c"):
        run_checks.load_expected(tmp_path / "named.npz", ["a", "c"])
    with pytest.raises(run_checks.ExpectError, match="cannot read expected outputs"):
        run_checks.load_expected(tmp_path / "missing.npy", ["y"])


def test_junit_xml_forms() -> None:
    passed = ET.fromstring(run_checks.junit_xml("p", 1.5, [], None))
    assert passed.get("failures") == "0" and passed.get("errors") == "0"
    assert passed.find("testcase").get("name") == "p"
    failed = ET.fromstring(run_checks.junit_xml("p", 1, [run_checks.Mismatch("y", "bad")], None))
    assert failed.get("failures") == "1"
    assert failed.find("testcase/failure").text == "output y: bad"
    errored = ET.fromstring(run_checks.junit_xml("p", 1, [], "no project"))
    assert errored.find("testcase/error").get("message") == "no project"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "projectapi", *args], capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory) -> pathlib.Path:
    target = tmp_path_factory.mktemp("expect") / "project"
    with TemplateProject("host") as template:
        template.generate_project(MLF_DIR / f"{QNN}.tar", target).close()
    return target


@pytest.mark.slow
def test_run_expect_match_mismatch_and_error(project_dir, tmp_path) -> None:
    report = tmp_path / "report.xml"
    expected = f"{MLF_DIR / QNN}.output.npy"
    done = _cli("run", str(project_dir), "--input", INPUT, "--expect", expected,
                "--junit-xml", str(report))
    assert done.returncode == 0, done.stderr
    assert "MATCH: outputs equal" in done.stdout
    assert ET.parse(report).getroot().get("failures") == "0"

    wrong = tmp_path / "wrong.npy"
    np.save(wrong, -np.load(expected))
    done = _cli("run", str(project_dir), "--input", INPUT, "--expect", str(wrong),
                "--junit-xml", str(report))
    assert done.returncode == 1
    assert "MISMATCH output output:" in done.stdout
    assert ET.parse(report).getroot().find("testcase/failure") is not None

    done = _cli("run", str(tmp_path / "nothing"), "--expect", expected, "--junit-xml", str(report))
    assert done.returncode == 1
    assert "does not exist" in ET.parse(report).getroot().find("testcase/error").get("message")
