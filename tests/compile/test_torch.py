"""A small PyTorch CNN through torch.export (the Python API and a saved .pt2 via the CLI):
runs on the host and on mps2-an386 that match PyTorch within 1e-4."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from templates.qemu.qemu_testlib import BOARD_NAMES, require_tools

import projectapi
from projectapi import mlf
from projectapi.cli import main as cli_main

from .compile_testlib import assert_close, generate, run_standalone


class SmallCNN(torch.nn.Module):
    """conv-relu-pool twice, then a dense layer: the usual shape of a tiny image classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(4, 8, 3, padding=1)
        self.dense = torch.nn.Linear(8 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return torch.softmax(self.dense(torch.flatten(x, 1)), dim=1)


@pytest.fixture(scope="module")
def cnn() -> tuple[SmallCNN, torch.Tensor, np.ndarray]:
    torch.manual_seed(7)
    model = SmallCNN().eval()
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        want = model(x).numpy()
    return model, x, want


@pytest.fixture(scope="module")
def cnn_archive(cnn, tmp_path_factory):
    model, x, _ = cnn
    return projectapi.compile(
        model, tmp_path_factory.mktemp("cnn") / "cnn.tar", example_inputs=(x,), target="cortex-m4"
    )


def test_api_describes_the_exported_model(cnn_archive) -> None:
    assert [(t.dtype, t.shape) for t in cnn_archive.inputs] == [("float32", (1, 1, 16, 16))]
    assert [(t.dtype, t.shape) for t in cnn_archive.outputs] == [("float32", (1, 10))]
    weights = 4 * 9 + 4 + 8 * 4 * 9 + 8 + 128 * 10 + 10
    assert cnn_archive.constants_size_bytes == 4 * weights
    mlf.validate(cnn_archive.archive)


def test_saved_pt2_compiles_to_the_same_code(cnn, cnn_archive, tmp_path) -> None:
    model, x, _ = cnn
    saved = tmp_path / "cnn.pt2"
    torch.export.save(torch.export.export(model, (x,)), str(saved))
    archive = tmp_path / "cnn.tar"
    assert cli_main(["compile", str(saved), str(archive), "--target", "cortex-m4"]) == 0
    ours, theirs = mlf.open(archive), mlf.open(cnn_archive.archive)
    for source in ours.model().sources:
        assert ours.files[source] == theirs.files[source]


class Spectrum(torch.nn.Module):
    """An FFT, which TVM's PyTorch importer does not convert."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.fft.fft(x).real


def test_unsupported_pytorch_operator_is_named(tmp_path) -> None:
    with pytest.raises(projectapi.compile.CompileError, match=r"Unsupported .*_fft_r2c"):
        projectapi.compile(Spectrum(), tmp_path / "m.tar", example_inputs=(torch.rand(4, 8),))
    with pytest.raises(projectapi.compile.CompileError, match="needs example_inputs"):
        projectapi.compile(Spectrum(), tmp_path / "m.tar")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("template", "options"),
    [("host", {})]
    + [("qemu", {"board": board, "project_type": "aot_standalone"}) for board in BOARD_NAMES],
    ids=["host", *BOARD_NAMES],
)
def test_runs_match_pytorch(cnn, cnn_archive, template, options, tmp_path) -> None:
    """The same portable C on the host and every QEMU board."""
    if template == "qemu":
        require_tools(options["board"])
    _, x, want = cnn
    with generate(cnn_archive.archive, tmp_path / "project", template, options) as project:
        _, output = run_standalone(project, cnn_archive.archive, x.numpy())
    assert_close(output, want)
