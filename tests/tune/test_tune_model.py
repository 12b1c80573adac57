"""``projectapi tune`` on a small model (host template, a few trials) and the pieces under it:
kernels as tasks, archives from schedules, the search without TVM's tensor intrinsics."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from compile.compile_testlib import assert_close, generate, onnxruntime_outputs, run_standalone

from projectapi import mlf
from projectapi.cli import main as cli_main
from projectapi.compile import compile_model
from projectapi.tune import tasks
from tune.models import dense_model

HOST = {"project_type": "aot_standalone"}


@pytest.fixture(scope="module")
def dense(tmp_path_factory) -> pathlib.Path:
    return dense_model(tmp_path_factory.mktemp("model") / "dense.onnx")


def test_an_untouched_model_archive_is_what_compile_writes(dense, tmp_path) -> None:
    compiled = compile_model(dense, tmp_path / "compiled.tar")
    model = tasks.load(dense, "host")
    assert sorted(t.name for t in model.tasks) == sorted(compiled.kernels)
    rebuilt = tasks.model_archive(model, {}, tmp_path / "rebuilt.tar")
    ours, theirs = mlf.open(rebuilt.archive), mlf.open(compiled.archive)
    for member in ("codegen/host/src/default_lib0.c", "codegen/host/src/default_lib1.c"):
        assert ours.files[member] == theirs.files[member]


def test_the_search_does_not_import_tensor_intrinsics() -> None:
    code = (
        "import sys\n"
        "from tvm.s_tir import meta_schedule as ms\n"
        "from projectapi.tune.search import without_tensor_intrinsics\n"
        "with without_tensor_intrinsics():\n"
        "    ms.TuneContext(target='c')\n"
        "print(sorted(m for m in sys.modules if m.startswith('tvm.s_tir.tensor_intrin')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"  # the stand-in is gone, the real module never loaded


@pytest.mark.slow
def test_short_tune_writes_an_archive_matching_the_untuned_model(dense, tmp_path, capsys) -> None:
    tuned = tmp_path / "tuned.tar"
    status = cli_main(
        [
            "tune", str(dense), str(tuned), "-t", "host", "-o", "project_type=aot_standalone",
            "--trials", "4", "--boards", "2", "--repeat", "2", "--log", str(tmp_path / "log"),
            "--json",
        ]
    )  # fmt: skip
    envelope = json.loads(capsys.readouterr().out)
    assert status == 0, envelope
    result = envelope["result"]
    assert result["candidates"] == sum(t["trials"] for t in result["tasks"]) >= 1
    assert all(t["untuned_seconds"] > 0 for t in result["tasks"])
    assert (tmp_path / "log" / "measurements.db").is_file()
    # The tuned archive runs like any other and computes what the model computes.
    x = np.random.default_rng(3).standard_normal((1, 64)).astype(np.float32)
    want = onnxruntime_outputs(dense, {"x": x})[0]
    with generate(tuned, tmp_path / "project", "host", HOST) as project:
        _, got = run_standalone(project, tuned, x)
    assert_close(got, want)
