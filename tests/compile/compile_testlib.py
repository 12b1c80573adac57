"""Shared helpers of the compile tests: test data, references and running archives."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator, Mapping

import numpy as np
from support.data import MODELS_DIR

import projectapi
from projectapi import mlf, run
from projectapi.project import GeneratedProject, TemplateProject
from projectapi.tensors import model_layouts

MNIST_ONNX = MODELS_DIR / "mnist-8.onnx"
# The agreement required of compiled models against onnxruntime / PyTorch.
TOLERANCE = 1e-4


def onnxruntime_outputs(model: pathlib.Path, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """What onnxruntime computes for ``model``: the anchor of "right"."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(model)).run(None, dict(inputs))


@contextlib.contextmanager
def generate(
    archive: pathlib.Path, project_dir: pathlib.Path, template: str, options: Mapping[str, object]
) -> Iterator[GeneratedProject]:
    """A generated and built project (warnings are errors), closed on leaving."""
    with TemplateProject(template) as source:
        project = source.generate_project(
            archive, project_dir, {"warning_as_error": True, **options}
        )
    with project:
        project.build()
        yield project


def run_standalone(project, archive: pathlib.Path, x: np.ndarray, repeat: int = 1):
    """Run the archive's single-input model ``repeat`` times; (measurement, first output)."""
    model = mlf.open(archive).model()
    ins, outs = model_layouts(model)
    with run.open_runner(project, model) as runner:
        runner.set_inputs({ins[0].name: x.reshape(ins[0].shape)})
        measurement = runner.run(repeat)
        return measurement, runner.get_outputs()[outs[0].name]


def run_host_driven(project, x: np.ndarray, name: str = "default"):
    """Run the model through the AOT executor over RPC; (output, benchmark result)."""
    with projectapi.Session(project.transport()) as session:
        executor = session.create_aot_executor(name)
        executor.set_input(0, x)
        executor.run()
        output = executor.get_output(0)
        timing = executor.benchmark(number=2, repeat=2)
    return output, timing


def assert_close(got: np.ndarray, want: np.ndarray) -> None:
    """Within 1e-4 of the reference, same shape once flattened."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.size == want.size
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=0, atol=TOLERANCE)
