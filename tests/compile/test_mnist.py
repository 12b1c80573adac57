"""mnist-8.onnx compiled: the archive's shape, and runs on the host and on mps2-an386 that match
onnxruntime within 1e-4 (standalone and host-driven)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from projectapi import mlf
from projectapi.cli import main as cli_main
from projectapi.compile import CompiledModel

from .compile_testlib import assert_close, generate, run_host_driven, run_standalone


def _sources(model: CompiledModel) -> str:
    library = mlf.open(model.archive)
    return "\n".join(library.files[name].decode() for name in library.model().sources)


def test_archive_describes_the_model(mnist: CompiledModel) -> None:
    mlf.validate(mnist.archive)
    model = mlf.open(mnist.archive).model()
    assert (model.executor, model.interface_api) == ("aot", "c")
    assert [(t.name, t.dtype, t.shape) for t in model.inputs] == [
        ("Input3", "float32", (1, 1, 28, 28))
    ]
    assert [(t.name, t.dtype, t.shape) for t in model.outputs] == [("output", "float32", (1, 10))]
    assert model.memory[0].workspace_size_bytes == mnist.workspace_size_bytes > 0
    # The weights: 8x1x5x5 + 8 + 16x8x5x5 + 16 + 256x10 + 10 floats.
    assert model.memory[0].constants_size_bytes == mnist.constants_size_bytes == 4 * 5994
    compiler = mlf.open(mnist.archive).metadata["modules"]["default"]["compiler"]
    assert compiler["tvm"] == mnist.compiler["tvm"]
    assert compiler["tvm"].startswith("0.27")
    assert "tvmgen_default_run" in model.entry_points


def test_archive_code_needs_no_heap_and_keeps_constants_in_flash(mnist: CompiledModel) -> None:
    code = _sources(mnist)
    for needs_runtime in ("TVMBackendAllocWorkspace", "malloc", "tvm/ffi", "tvm/runtime"):
        assert needs_runtime not in code
    # One static pool of exactly the metadata's workspace size; constants are const arrays.
    pools = re.findall(r"static uint8_t \w+_pool\[(\d+)\]", code)
    assert pools == [str(mnist.workspace_size_bytes)]
    constants = re.findall(r"static const uint32_t \w+_const_\d+\[(\d+)\]", code)
    assert sum(int(n) for n in constants) * 4 == mnist.constants_size_bytes


def test_inspect_and_compile_json_report_the_sizes(mnist: CompiledModel, tmp_path, capsys) -> None:
    assert cli_main(["mlf", "inspect", "--json", str(mnist.archive)]) == 0
    text = capsys.readouterr().out
    assert str(mnist.workspace_size_bytes) in text and str(mnist.constants_size_bytes) in text
    archive = tmp_path / "cli.tar"
    assert cli_main(["compile", str(mnist.archive.parent / "missing.onnx"), str(archive)]) == 1
    assert "no such model file" in capsys.readouterr().err
    from .compile_testlib import MNIST_ONNX

    assert cli_main(["compile", str(MNIST_ONNX), str(archive), "--name", "mnist", "--json"]) == 0
    described = json.loads(capsys.readouterr().out)["result"]
    assert described["name"] == "mnist"
    assert described["workspace_size_bytes"] == mnist.workspace_size_bytes
    assert mlf.open(archive).model().entry_points[0] == "tvmgen_mnist_run"


@pytest.mark.slow
def test_host_standalone_matches_onnxruntime(mnist, mnist_input, mnist_reference, tmp_path):
    with generate(mnist.archive, tmp_path / "project", "host", {}) as project:
        result, output = run_standalone(project, mnist.archive, mnist_input, repeat=3)
    assert_close(output, mnist_reference)
    assert result.runs == 3 and result.device_fastest > 0


@pytest.mark.slow
def test_host_driven_matches_onnxruntime(mnist, mnist_input, mnist_reference, tmp_path):
    options = {"project_type": "host_driven"}
    with generate(mnist.archive, tmp_path / "project", "host", options) as project:
        output, timing = run_host_driven(project, mnist_input)
    assert_close(output, mnist_reference)
    assert len(timing.results) == 2 and timing.min > 0


@pytest.mark.slow
@pytest.mark.parametrize("project_type", ["aot_standalone", "host_driven"])
def test_mps2_an386_matches_onnxruntime(
    mnist_m4, mnist_input, mnist_reference, project_type, tmp_path
):
    from templates.qemu.qemu_testlib import require_tools

    require_tools("mps2-an386")
    project_dir = tmp_path / "project"
    options = {"board": "mps2-an386", "project_type": project_type}
    with generate(mnist_m4.archive, project_dir, "qemu", options) as project:
        report = json.loads((project_dir / "memory_report.json").read_text())
        assert report["flash_used"] <= report["flash_limit"]
        assert report["ram_used"] <= report["ram_limit"]
        # The model's RAM is its pool and I/O buffers: no heap is sized for it.
        assert report["ram_by_category"]["model"] >= mnist_m4.workspace_size_bytes
        if project_type == "aot_standalone":
            _, output = run_standalone(project, mnist_m4.archive, mnist_input)
        else:
            output, _ = run_host_driven(project, mnist_input)
    assert_close(output, mnist_reference)
    assert np.argmax(output) == np.argmax(mnist_reference)
