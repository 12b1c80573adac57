"""Shared helpers of the host template tests: the real archives and their references."""

from __future__ import annotations

import json
import pathlib

import numpy as np
from support.data import MLF_DIR, data_path

from projectapi import mlf, standalone

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


def graph_executor(session, name: str, where: str):
    """A device-side ("device") or host-walk ("host") graph executor with its parameters set."""
    model = mlf.open(archive(name)).model()
    graph_json = json.dumps(model.graph, separators=(",", ":"))
    if where == "device":
        executor = session.create_graph_executor(graph_json)
    else:
        executor = session.create_host_graph_executor(graph_json)
    if model.params():
        executor.load_params(model.params())
    return executor


def layouts(name: str) -> tuple[list[standalone.TensorLayout], list[standalone.TensorLayout]]:
    """Input and output layouts of an archive's model, from its metadata."""
    return standalone.model_layouts(mlf.open(archive(name)).model())


def check_standalone(project, name: str, repeat: int) -> standalone.StandaloneResult:
    """Run the archive's reference input ``repeat`` times, then once more, over the project's
    transport; check the outputs equal the reference and each other; return the first result."""
    ins, outs = layouts(name)
    x, want = reference(name)
    inputs = {ins[0].name: x.reshape(ins[0].shape)}
    with project.transport() as transport:
        runner = standalone.StandaloneRunner(transport, ins, outs)
        first = runner.run(inputs, repeat=repeat)
        second = runner.run(inputs, repeat=1)
    assert_matches(first.outputs[outs[0].name], want)
    np.testing.assert_array_equal(first.outputs[outs[0].name], second.outputs[outs[0].name])
    assert first.repeat == repeat
    assert 0 < first.fastest_seconds <= first.mean_seconds * (1 + 1e-9)
    return first
