"""Fixtures of the compile tests: one compiled MNIST archive and its reference per session."""

from __future__ import annotations

import numpy as np
import pytest

from projectapi.compile import CompiledModel, compile_model

from .compile_testlib import MNIST_ONNX, onnxruntime_outputs


@pytest.fixture(scope="session")
def mnist_input() -> np.ndarray:
    return np.random.default_rng(20261206).random((1, 1, 28, 28), dtype=np.float32)


@pytest.fixture(scope="session")
def mnist_reference(mnist_input: np.ndarray) -> np.ndarray:
    return onnxruntime_outputs(MNIST_ONNX, {"Input3": mnist_input})[0]


@pytest.fixture(scope="session")
def mnist(tmp_path_factory: pytest.TempPathFactory) -> CompiledModel:
    """mnist-8.onnx compiled for the host (the archive every end-to-end test runs)."""
    return compile_model(MNIST_ONNX, tmp_path_factory.mktemp("mnist") / "mnist.tar")


@pytest.fixture(scope="session")
def mnist_m4(tmp_path_factory: pytest.TempPathFactory) -> CompiledModel:
    """mnist-8.onnx compiled for Cortex-M4 (the mps2-an386 runs)."""
    return compile_model(
        MNIST_ONNX, tmp_path_factory.mktemp("mnist-m4") / "mnist.tar", target="cortex-m4"
    )
