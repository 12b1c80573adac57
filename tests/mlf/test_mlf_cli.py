"""``projectapi mlf`` subcommands, driven through their argparse registration."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from projectapi import mlf
from projectapi.cli import mlf_commands
from projectapi.mlf import report
from projectapi.mlf.example import example_input, example_reference

from .mlf_testlib import SHARED_ARCHIVES, SHARED_MLF, files_tar, shared_files


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="projectapi")
    mlf_commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["mlf", *argv])
    return args.func(args)


@pytest.mark.parametrize("name", SHARED_ARCHIVES)
def test_inspect_text_and_json(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    archive = SHARED_MLF / f"{name}.tar"
    assert run("inspect", str(archive)) == 0
    text = capsys.readouterr().out
    assert f"archive    {archive}" in text
    assert "Model Library Format v7, full-model" in text
    assert "model 'default'" in text
    assert run("inspect", "--json", str(archive)) == 0
    envelope = json.loads(capsys.readouterr().out)
    assert envelope["command"] == "mlf inspect" and envelope["ok"] is True
    assert envelope["result"] == report.to_dict(mlf.open(archive))


def test_validate_good_and_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("validate", str(SHARED_MLF / "mnist_graph.tar")) == 0
    assert "valid Model Library Format v7 (1 model(s))" in capsys.readouterr().out
    assert run("validate", "--json", str(SHARED_MLF / "mnist_graph.tar")) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert result == {"archive": str(SHARED_MLF / "mnist_graph.tar"), "version": 7, "models": 1}
    files = shared_files("mnist_graph")
    del files["codegen/host/src/default_lib1.c"]
    with pytest.raises(mlf.MLFValidationError, match="calls operator tvmgen_default_fused"):
        run("validate", str(files_tar(tmp_path / "broken.tar", files)))


def test_pack_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "copy_lib.c"
    source.write_text(
        "#include <stdint.h>\n#include <tvmgen_copy.h>\n"
        "int32_t tvmgen_copy_run(struct tvmgen_copy_inputs* i, struct tvmgen_copy_outputs* o) {\n"
        "  ((float*)o->output)[0] = ((float*)i->in_0)[0];\n  return 0;\n}\n"
    )
    out = tmp_path / "copy.tar"
    status = run("pack", "-o", str(out), "--name", "copy", "--source", str(source),
                 "--input", "in:0:float32:1x1", "--output", "output:float32:1,1")  # fmt: skip
    assert status == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    out.unlink()
    assert run("pack", "--json", "-o", str(out), "--name", "copy", "--source", str(source),
               "--input", "in:0:float32:1x1", "--output", "output:float32:1,1") == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["result"] == {"archive": str(out)}
    model = mlf.open(out).model()
    assert model.inputs == (mlf.TensorInfo("in:0", "float32", (1, 1), 4),)
    assert model.outputs == (mlf.TensorInfo("output", "float32", (1, 1), 4),)


@pytest.mark.parametrize("spec", ["input", "input:float32", "input:float32:1,a", ":float32:1"])
def test_pack_command_refuses_bad_tensor_specs(tmp_path: Path, spec: str) -> None:
    source = tmp_path / "a.c"
    source.write_text("int x;\n")
    with pytest.raises(mlf.MLFError, match=f"--input '{spec}': expected NAME:DTYPE:SHAPE"):
        run("pack", "-o", str(tmp_path / "a.tar"), "--name", "a", "--source", str(source),
            "--input", spec, "--output", "o:int8:1")  # fmt: skip


def test_pack_command_names_an_unreadable_source(tmp_path: Path) -> None:
    with pytest.raises(mlf.MLFError, match=r"cannot read .*missing\.c: No such file"):
        run("pack", "-o", str(tmp_path / "a.tar"), "--name", "a", "--source",
            str(tmp_path / "missing.c"), "--input", "i:int8:1", "--output", "o:int8:1")  # fmt: skip


def test_example_command_writes_archive_and_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("example", "--json", str(tmp_path / "mlp.tar")) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert result["input"] == {"name": "input", "file": str(tmp_path / "mlp.input.npy")}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mlp.input.npy", "mlp.output.npy", "mlp.tar",
    ]  # fmt: skip
    saved_input = np.load(tmp_path / "mlp.input.npy")
    np.testing.assert_array_equal(saved_input, example_input()["input"])
    np.testing.assert_array_equal(
        np.load(tmp_path / "mlp.output.npy"), example_reference({"input": saved_input})["output"]
    )
    assert mlf.open(tmp_path / "mlp.tar").model().name == "mlp"
