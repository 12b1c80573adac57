"""Shared helpers of the host template tests: the real archives and their references."""

from __future__ import annotations

import pathlib

import numpy as np
from support.data import MLF_DIR, data_path

from projectapi import mlf, run
from projectapi.tensors import TensorLayout, model_layouts

AOT_ARCHIVES = (
    "mnist_aot_c",
    "mnist_aot_packed",
    "mnist_aot_packed_syslib",
    "qnn_dense_int8_aot_c",
)
# Graph-executor archives: parameters linked into the code, and in parameters/default.params.
GRAPH_ARCHIVES = ("mnist_graph", "mnist_graph_params")


def archive(name: str) -> pathlib.Path:
    """The path of a real TVM archive."""
    return data_path("mlf", f"{name}.tar")


def reference(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The archive's input and reference output."""
    return np.load(MLF_DIR / f"{name}.input.npy"), np.load(MLF_DIR / f"{name}.output.npy")


def assert_matches(got: np.ndarray, want: np.ndarray) -> None:
    """int outputs exactly, float32 within 1e-5 relative / 1e-6 absolute."""
    got, want = np.asarray(got).reshape(-1), np.asarray(want).reshape(-1)
    assert got.dtype == want.dtype
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, want)


def graph_runner(session, name: str, where: str) -> run.SessionModelRunner:
    """A runner for a graph archive on the device ("device") or walked on the host ("host")."""
    return run.session_runner(session, mlf.open(archive(name)).model(), where)


def layouts(name: str) -> tuple[list[TensorLayout], list[TensorLayout]]:
    """Input and output layouts of an archive's model, from its metadata."""
    return model_layouts(mlf.open(archive(name)).model())


def check_standalone(project, name: str, repeat: int) -> run.Measurement:
    """Run the archive's reference input ``repeat`` times, then once more, over the project's
    transport; check the outputs equal the reference and each other; return the first timing."""
    ins, outs = layouts(name)
    x, want = reference(name)
    with project.transport() as transport:
        runner = run.StandaloneModelRunner(transport, ins, outs)
        runner.set_inputs({ins[0].name: x.reshape(ins[0].shape)})
        first = runner.run(repeat)
        got = runner.get_outputs()[outs[0].name]
        runner.run(1)
        again = runner.get_outputs()[outs[0].name]
    assert_matches(got, want)
    np.testing.assert_array_equal(got, again)
    assert first.runs == repeat
    assert 0 < first.device_fastest <= first.device_mean * (1 + 1e-9)
    return first
