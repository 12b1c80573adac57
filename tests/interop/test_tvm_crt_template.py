"""A template written for TVM (TVM's crt conventions) driven by projectapi with no TVM installed:
generated with projectapi's runtime in TVM's layout, built, and run host-driven end to end."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from support.data import MLF_DIR

from projectapi import cli
from projectapi.project import TemplateProject

from .interop_testlib import copy_project

# AOT with a system library, and a graph model: both run from the generated code alone.
_ARCHIVES = ("mnist_aot_packed_syslib", "mnist_graph")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return copy_project("tvm_crt", tmp_path_factory.mktemp("tvm_crt"))


def test_template_answers_through_the_shim(template: pathlib.Path, capsys: pytest.CaptureFixture):
    with TemplateProject(template) as project:
        assert project.info.platform_name == "tvm_crt_style"
        assert project.info.is_template
        assert [option.name for option in project.options] == ["workspace_size_bytes", "verbose"]
    assert cli.main(["check", str(template), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["result"]["passed"]


@pytest.mark.slow
@pytest.mark.parametrize("name", _ARCHIVES)
def test_generate_build_run_host_driven(
    template: pathlib.Path, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture, name: str
):
    project_dir = tmp_path / "project"
    with TemplateProject(template) as project:
        generated = project.generate_project(MLF_DIR / f"{name}.tar", project_dir)
    with generated:
        # TVM's server reports the MLF path as a string even when the handler gives a Path.
        assert generated.info.model_library_format_path == str(project_dir / "model.tar")
    # The template copied the runtime it was handed (include, src and Makefile, as TVM's crt
    # template takes them): projectapi's, in TVM's layout.
    assert (project_dir / "crt" / "Makefile").is_file()
    assert (project_dir / "crt" / "src" / "runtime" / "crt" / "microtvm_rpc_server").is_dir()
    assert not (project_dir / "project.json").exists()  # nothing only our templates write

    input_file, output_dir = tmp_path / "input.npy", tmp_path / "outputs"
    np.save(input_file, np.load(MLF_DIR / f"{name}.input.npy"))
    status = cli.main(
        ["run", str(project_dir), "--input", f"Input3={input_file}", "--output", str(output_dir)]
    )
    assert status == 0, capsys.readouterr().err
    capsys.readouterr()
    # The conformance run passes on the generated project, transport included.
    assert cli.main(["check", str(project_dir), "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)["result"]["checks"]
    assert {c["name"]: c["status"] for c in checks}["transport round trip"] == "pass"
    got = np.load(output_dir / "output.npy")
    want = np.load(MLF_DIR / f"{name}.output.npy")
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-6)
