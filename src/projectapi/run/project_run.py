"""Run a generated project's model: build (under the project's lock), flash, open, run, time.

The project type comes from the project's server (``project_type`` in its ``server_info``;
``host_driven`` when it reports none, as templates written for TVM do):
``aot_standalone`` projects run over the standalone link protocol, ``host_driven`` ones over a
microTVM session. ``-o`` values reach build, flash and open_transport as each declares them.
"""

from __future__ import annotations

import contextlib
import pathlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from projectapi import mlf
from projectapi.errors import ProjectAPIError
from projectapi.project import GeneratedProject, parse_option_strings
from projectapi.run.measurement import Measurement
from projectapi.run.runners import (
    GRAPH_EXECUTORS,
    ModelRunner,
    StandaloneModelRunner,
    session_runner,
)
from projectapi.tensors import (
    TensorLayout,
    check_input,
    check_names,
    model_layouts,
    random_input,
    read_npy,
)

if TYPE_CHECKING:
    from projectapi.micro import Profile

MLF_FILE = "model.tar"
RUNNABLE_TYPES = ("aot_standalone", "host_driven")
DEFAULT_SEED = 0


class RunError(ProjectAPIError):
    """A run cannot start: bad options or a project this layer cannot drive."""


@dataclass(frozen=True)
class RunOptions:
    """How ``run_project`` runs the model."""

    repeat: int = 1
    benchmark: int = 0  # runs timed by the device's own clock after the first ones
    seed: int = DEFAULT_SEED  # of the random inputs
    graph_executor: str | None = None  # graph models, host-driven: "device" (default) or "host"
    profile: bool = False  # per-operator on-device times (host-driven projects)
    reshape: bool = False  # accept inputs holding the right number of values in another shape
    timeout: float | None = None  # seconds to wait for the device's reply (None: follows the work)
    project_options: tuple[str, ...] = ()  # KEY=VALUE for build, flash and open_transport


@dataclass(frozen=True)
class RunReport:
    """Outputs of one run and how long runs took."""

    outputs: dict[str, np.ndarray]
    measurement: Measurement
    profile: Profile | str | None = None  # with profile: the profile, or why there is none


def check_options(options: RunOptions) -> None:
    """Refuse option values no project could run with (before anything is started)."""
    if options.repeat < 1 or options.benchmark < 0:
        raise RunError("--repeat must be at least 1 and --benchmark at least 0")
    if options.seed < 0:
        raise RunError(f"--seed must be 0 or more, got {options.seed}")
    if options.timeout is not None and options.timeout <= 0:
        raise RunError(f"--timeout must be more than 0 seconds, got {options.timeout:g}")
    if options.graph_executor not in (None, *GRAPH_EXECUTORS):
        raise RunError(f"--graph-executor must be device or host, got {options.graph_executor!r}")


def _check_project(options: RunOptions, model: mlf.Model, kind: str, platform: str) -> None:
    if kind == "echo":
        raise RunError(
            "the echo template runs no model: its device only echoes bytes back; create the "
            "project from the host or qemu template to run it"
        )
    if kind not in RUNNABLE_TYPES:
        raise RunError(
            f"this {platform} project's server reports project type {kind!r}; run drives {' and '.join(RUNNABLE_TYPES)} "
            "projects (projects of the host and qemu templates)"
        )
    if options.profile and kind != "host_driven":
        raise RunError(
            "--profile needs a host_driven project (operators are timed over the device "
            f"session); this project is {kind}: create one with -o project_type=host_driven"
        )
    if options.graph_executor is not None and (model.executor != "graph" or kind != "host_driven"):
        raise RunError(
            "--graph-executor applies to graph models in host_driven projects (this project: "
            f"{kind}, {model.executor} model)"
        )


def load_inputs(
    layouts: Sequence[TensorLayout],
    files: Mapping[str, pathlib.Path],
    seed: int,
    *,
    reshape: bool = False,
) -> dict[str, np.ndarray]:
    """Inputs from ``.npy`` files by name; seeded random ones for the rest, said on stderr."""
    check_names(layouts, list(files))
    rng = np.random.default_rng(seed)
    arrays = {}
    for layout in layouts:
        path = files.get(layout.name)
        if path is not None:
            value = read_npy(path, f"input {layout.name}")
            arrays[layout.name] = check_input(layout, value, reshape=reshape, source=str(path))
        else:
            print(
                f"input {layout.name}: random {layout.dtype} {list(layout.shape)} (seed {seed})",
                file=sys.stderr,
            )
            arrays[layout.name] = random_input(layout, rng)
    return arrays


def project_type(project: GeneratedProject) -> str:
    """The project type the project's server reports, else ``host_driven``.

    Only projectapi's templates speak the standalone link protocol, and they report their type;
    a server that reports none (a template written for TVM) can only be driven over a session.
    """
    return project.info.project_type or "host_driven"


@contextlib.contextmanager
def open_runner(
    project: GeneratedProject,
    model: mlf.Model,
    *,
    graph_executor: str | None = None,
    timeout: float | None = None,
    transport_options: Mapping[str, Any] | None = None,
) -> Iterator[ModelRunner]:
    """A runner for a built (and flashed) project's model, over its transport."""
    kind = project_type(project)
    transport = project.transport(transport_options)
    if kind == "host_driven":
        from projectapi import micro  # only host-driven runs need the session stack

        with micro.Session(transport, reply_timeout_sec=timeout) as session:
            runner = session_runner(session, model, graph_executor)
            try:
                yield runner
            finally:
                runner.close()
        return
    ins, outs = model_layouts(model)
    with transport:
        yield StandaloneModelRunner(transport, ins, outs, timeout=timeout)


def _profile(runner: ModelRunner) -> Profile | str:
    """The runner's per-operator profile, or the device's reason why it has none."""
    from projectapi import micro

    try:
        return runner.profile()
    except micro.ProfilingUnavailable as reason:
        return str(reason)


def drive(runner: ModelRunner, arrays: Mapping[str, np.ndarray], options: RunOptions) -> RunReport:
    """Set the inputs, run ``repeat`` times, then profile and device-time as asked."""
    runner.set_inputs(arrays)
    measurement = runner.run(options.repeat)
    outputs = runner.get_outputs()
    profile = _profile(runner) if options.profile else None
    if options.benchmark:
        measurement = runner.benchmark(options.benchmark)
    return RunReport(outputs, measurement, profile)


def project_inputs(
    project_dir: pathlib.Path, files: Mapping[str, pathlib.Path], options: RunOptions
) -> dict[str, np.ndarray]:
    """The checked inputs for ``project_dir``'s model: ``files``, random for the rest."""
    check_options(options)
    library_path = project_dir / MLF_FILE
    if not project_dir.is_dir():
        raise RunError(f"project directory {project_dir} does not exist; create one first")
    if not library_path.is_file():
        raise RunError(f"{project_dir} has no {MLF_FILE}: is it a generated project?")
    ins, _ = model_layouts(mlf.open(library_path).model())
    return load_inputs(ins, files, options.seed, reshape=options.reshape)


def run_project(
    project_dir: pathlib.Path,
    files: Mapping[str, pathlib.Path],
    options: RunOptions | None = None,
) -> RunReport:
    """Build ``project_dir`` if needed, flash it, and run its model (plus timing runs)."""
    options = options or RunOptions()
    return run_arrays(project_dir, project_inputs(project_dir, files, options), options)


def run_arrays(
    project_dir: pathlib.Path, arrays: Mapping[str, np.ndarray], options: RunOptions
) -> RunReport:
    """``run_project`` with inputs already checked (``project_inputs``)."""
    model = mlf.open(project_dir / MLF_FILE).model()
    with GeneratedProject(project_dir) as project:
        _check_project(options, model, project_type(project), project.info.platform_name)
        values = parse_option_strings(options.project_options, project.options)
        project.build(values)
        project.flash(values)
        with open_runner(
            project,
            model,
            graph_executor=options.graph_executor,
            timeout=options.timeout,
            transport_options=values,
        ) as runner:
            return drive(runner, arrays, options)
