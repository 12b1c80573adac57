"""``projectapi run`` (run a generated project's model) and ``projectapi demo``.

``run`` builds the project if needed, then runs the model through the project's transport:
the standalone link protocol for ``aot_standalone`` projects, a microTVM session for
``host_driven`` ones (the AOT executor, or for graph models the device-side graph executor or,
with ``--graph-executor host``, the graph walked on the host). ``demo`` generates, builds and
runs the bundled example model on the host template and compares its outputs with the numpy
reference.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from projectapi import mlf, standalone
from projectapi.cli import run_checks
from projectapi.errors import ProjectAPIError
from projectapi.project import GeneratedProject, TemplateProject

if TYPE_CHECKING:
    from projectapi.micro import Profile

_SETTINGS_FILE = "project.json"  # generate-time options a generated project keeps
_MLF_FILE = "model.tar"
_DEFAULT_SEED = 0
GRAPH_EXECUTORS = ("device", "host")
# Float comparison of the demo against its reference (the MLF archives' stated tolerance).
_RTOL, _ATOL = 1e-5, 1e-6


class RunError(ProjectAPIError):
    """A run cannot start: bad inputs or a project this command cannot drive."""


@dataclass(frozen=True)
class RunReport:
    """Outputs of one run and how long it took."""

    outputs: dict[str, np.ndarray]
    runs: int
    mean_seconds: float
    fastest_seconds: float
    clock: str  # which clock timed it
    profile: Profile | str | None = None  # with --profile: the profile, or why there is none


@dataclass(frozen=True)
class RunOptions:
    """How ``run_project`` runs the model."""

    repeat: int = 1
    benchmark: int = 0
    seed: int = _DEFAULT_SEED
    graph_executor: str | None = None  # graph models, host-driven: "device" (default) or "host"
    profile: bool = False  # per-operator on-device times (host-driven projects)


def _parse_inputs(pairs: list[str]) -> dict[str, pathlib.Path]:
    files = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise RunError(f"--input takes NAME=FILE.npy, got {pair!r}")
        files[name] = pathlib.Path(path)
    return files


def _load_input(layout: standalone.TensorLayout, path: pathlib.Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise RunError(f"cannot read input {layout.name} from {path}: {error}") from None
    if array.dtype != layout.dtype:
        raise RunError(f"input {layout.name} must be {layout.dtype}; {path} holds {array.dtype}")
    if array.size * array.itemsize != layout.nbytes:
        raise RunError(
            f"input {layout.name} has shape {list(layout.shape)}; {path} holds shape "
            f"{list(array.shape)}"
        )
    return array.reshape(layout.shape)


def _random_input(layout: standalone.TensorLayout, rng: np.random.Generator) -> np.ndarray:
    if layout.dtype.kind == "f":
        return rng.random(layout.shape).astype(layout.dtype)
    info = np.iinfo(layout.dtype)
    return rng.integers(info.min, info.max, size=layout.shape, endpoint=True, dtype=layout.dtype)


def prepare_inputs(
    layouts: list[standalone.TensorLayout], files: Mapping[str, pathlib.Path], seed: int
) -> dict[str, np.ndarray]:
    """Inputs from files by name; random (seeded) for those not given, said on stderr."""
    unknown = sorted(set(files) - {layout.name for layout in layouts})
    if unknown:
        names = ", ".join(layout.name for layout in layouts)
        raise RunError(f"the model has no input {unknown[0]!r}; its inputs are: {names}")
    rng = np.random.default_rng(seed)
    arrays = {}
    for layout in layouts:
        if layout.name in files:
            arrays[layout.name] = _load_input(layout, files[layout.name])
        else:
            print(
                f"input {layout.name}: random {layout.dtype} {list(layout.shape)} (seed {seed})",
                file=sys.stderr,
            )
            arrays[layout.name] = _random_input(layout, rng)
    return arrays


def project_type(project_dir: pathlib.Path) -> str:
    """The project type a template recorded at generate time (``aot_standalone`` if none)."""
    try:
        settings = json.loads((project_dir / _SETTINGS_FILE).read_text())
    except (OSError, ValueError):
        return "aot_standalone"
    return str(settings.get("project_type", "aot_standalone"))


def _run_standalone(
    project: GeneratedProject,
    ins: list,
    outs: list,
    arrays: Mapping[str, np.ndarray],
    repeat: int,
    benchmark: int,
) -> RunReport:
    with project.transport() as transport:
        runner = standalone.StandaloneRunner(transport, ins, outs)
        result = runner.run(arrays, repeat)
        if benchmark:
            timing = runner.run(arrays, benchmark)
            result = standalone.StandaloneResult(
                result.outputs, timing.repeat, timing.total_seconds, timing.fastest_seconds
            )
    return RunReport(
        result.outputs, result.repeat, result.mean_seconds, result.fastest_seconds, "device clock"
    )


def _graph_executor(session: Any, model: mlf.Model, where: str) -> Any:
    """A graph executor for ``model`` (device-side or host walk) with its parameters loaded."""
    graph_json = json.dumps(model.graph, separators=(",", ":"))
    if where == "host":
        executor = session.create_host_graph_executor(graph_json)
    else:
        executor = session.create_graph_executor(graph_json)
    params = model.params()
    if params:  # device-side: in one message when it fits, else by chunked copies
        executor.load_params(params)
    return executor


def _run_host_driven(
    project: GeneratedProject,
    model: mlf.Model,
    outs: list,
    arrays: Mapping[str, np.ndarray],
    options: RunOptions,
) -> RunReport:
    from projectapi import micro  # only host-driven runs need the session stack

    with micro.Session(project.transport()) as session:
        if model.executor == "graph":
            executor = _graph_executor(session, model, options.graph_executor or "device")
        else:
            executor = session.create_aot_executor(model.name)
        with executor:
            for index, (name, array) in enumerate(arrays.items()):
                executor.set_input(name if model.executor == "graph" else index, array)
            times = []
            for _ in range(options.repeat):
                start = time.perf_counter()
                executor.run()
                times.append(time.perf_counter() - start)
            outputs = {
                layout.name: executor.get_output(i).reshape(layout.shape)
                for i, layout in enumerate(outs)
            }
            profile = _profile(executor) if options.profile else None
            if options.benchmark:
                # Up to 10 timed batches so "fastest" means something; one double per batch.
                batches = min(options.benchmark, 10)
                number = max(1, options.benchmark // batches)
                timing = executor.benchmark(number=number, repeat=batches)
                return RunReport(
                    outputs,
                    number * batches,
                    timing.mean,
                    timing.min,
                    f"device timer, fastest of {batches} batches",
                    profile,
                )
    clock = "host wall clock"
    return RunReport(
        outputs, options.repeat, sum(times) / options.repeat, min(times), clock, profile
    )


def _profile(executor: Any) -> Profile | str:
    """The executor's per-operator profile, or the device's reason why it has none."""
    from projectapi import micro

    try:
        return executor.profile()
    except micro.ProfilingUnavailable as reason:
        return str(reason)


def _check_options(options: RunOptions, model: mlf.Model, kind: str) -> None:
    if options.repeat < 1 or options.benchmark < 0:
        raise RunError("--repeat must be at least 1 and --benchmark at least 0")
    if kind not in ("aot_standalone", "host_driven"):
        raise RunError(f"project type {kind!r} cannot be run; use aot_standalone or host_driven")
    if options.profile and kind != "host_driven":
        raise RunError(
            "--profile needs a host_driven project (operators are timed over the device "
            f"session); this project is {kind}: create one with -o project_type=host_driven"
        )
    if options.graph_executor is None:
        return
    if options.graph_executor not in GRAPH_EXECUTORS:
        raise RunError(f"--graph-executor must be device or host, got {options.graph_executor!r}")
    if model.executor != "graph" or kind != "host_driven":
        raise RunError(
            "--graph-executor applies to graph models in host_driven projects (this project: "
            f"{kind}, {model.executor} model)"
        )
    if options.graph_executor == "host" and options.benchmark:
        raise RunError(
            "--benchmark times the device's own executor; with --graph-executor host use "
            "--repeat (host wall clock)"
        )


def run_project(
    project_dir: pathlib.Path,
    files: Mapping[str, pathlib.Path],
    options: RunOptions | None = None,
) -> RunReport:
    """Build ``project_dir`` if needed and run its model once (plus timing runs)."""
    options = options or RunOptions()
    library_path = project_dir / _MLF_FILE
    if not project_dir.is_dir():
        raise RunError(f"project directory {project_dir} does not exist; create one first")
    if not library_path.is_file():
        raise RunError(f"{project_dir} has no {_MLF_FILE}: is it a generated project?")
    model = mlf.open(library_path).model()
    kind = project_type(project_dir)
    _check_options(options, model, kind)
    ins, outs = standalone.model_layouts(model)
    arrays = prepare_inputs(ins, files, options.seed)
    with GeneratedProject(project_dir) as project:
        project.build()
        if kind == "host_driven":
            return _run_host_driven(project, model, outs, arrays, options)
        return _run_standalone(project, ins, outs, arrays, options.repeat, options.benchmark)


def _top_k(array: np.ndarray, k: int) -> list[tuple[int, float]]:
    flat = array.reshape(-1)
    order = np.argsort(-flat.astype(np.float64), kind="stable")[:k]
    return [(int(i), flat[i].item()) for i in order]


def _print_report(report: RunReport, top: int) -> None:
    for name, array in report.outputs.items():
        print(f"output {name}: {array.dtype} {list(array.shape)}")
        print(np.array2string(array, precision=6, threshold=64))
        if top:
            ranked = ", ".join(f"#{i}={v:.6g}" for i, v in _top_k(array, top))
            print(f"  top {top}: {ranked}")
    print(
        f"time per run: mean {report.mean_seconds * 1e3:.4f} ms, fastest "
        f"{report.fastest_seconds * 1e3:.4f} ms over {report.runs} runs ({report.clock})"
    )
    if isinstance(report.profile, str):
        print(f"per-operator profile: not available: {report.profile}")
    elif report.profile is not None:
        from projectapi.micro import format_profile_table

        print(format_profile_table(report.profile))


def _report_json(report: RunReport, top: int) -> dict:
    return {
        "outputs": {
            name: {
                "dtype": str(a.dtype),
                "shape": list(a.shape),
                "data": a.reshape(-1).tolist(),
                **({"top": _top_k(a, top)} if top else {}),
            }
            for name, a in report.outputs.items()
        },
        "runs": report.runs,
        "mean_seconds": report.mean_seconds,
        "fastest_seconds": report.fastest_seconds,
        "clock": report.clock,
        **({"profile": _profile_json(report.profile)} if report.profile is not None else {}),
    }


def _profile_json(profile: Profile | str) -> dict:
    """A profile as a dict, or ``{"unavailable": reason}``."""
    return {"unavailable": profile} if isinstance(profile, str) else profile.to_dict()


def _cmd_run(args: argparse.Namespace) -> int:
    with run_checks.reported(args) as mismatches:
        report = run_project(
            pathlib.Path(args.project_dir).resolve(),
            _parse_inputs(args.input),
            RunOptions(args.repeat, args.benchmark, args.seed, args.graph_executor, args.profile),
        )
        _show_run(args, report)
        return run_checks.check(args, report.outputs, mismatches)


def _show_run(args: argparse.Namespace, report: RunReport) -> None:
    if args.output:
        out_dir = pathlib.Path(args.output)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, array in report.outputs.items():
            np.save(out_dir / f"{name}.npy", array)
    if args.json:
        print(json.dumps(_report_json(report, args.print_top)))
    else:
        _print_report(report, args.print_top)


def _compare(outputs: Mapping[str, np.ndarray], reference: list[np.ndarray]) -> bool:
    if len(outputs) != len(reference):
        return False
    ok = True
    for got, want in zip(outputs.values(), reference, strict=True):
        got, want = got.reshape(-1), np.asarray(want).reshape(-1)
        if got.dtype.kind == "f":
            ok = ok and bool(np.allclose(got, want, rtol=_RTOL, atol=_ATOL))
        else:
            ok = ok and bool(np.array_equal(got, want))
    return ok


def _cmd_demo(args: argparse.Namespace) -> int:
    from projectapi.mlf import example  # the bundled model, its input and numpy reference

    with tempfile.TemporaryDirectory(prefix="projectapi-demo-") as tmp:
        project_dir = pathlib.Path(args.project_dir or pathlib.Path(tmp) / "project").resolve()
        archive = pathlib.Path(tmp) / "example.tar"
        example.build_example_archive(archive)
        print(f"generating {project_dir} from the host template", file=sys.stderr)
        with TemplateProject("host") as template:
            template.generate_project(archive, project_dir).close()
        input_files = {}
        for name, array in example.example_input().items():
            input_files[name] = pathlib.Path(tmp) / f"input_{len(input_files)}.npy"
            np.save(input_files[name], array)
        report = run_project(project_dir, input_files, RunOptions(repeat=args.repeat))
    reference = list(example.example_reference(example.example_input()).values())
    for (name, got), want in zip(report.outputs.items(), reference, strict=False):
        got, want = got.reshape(-1), np.asarray(want).reshape(-1)
        print(f"output {name}: {got.dtype} {got.size} values")
        print("  device:", np.array2string(got, precision=6, threshold=32))
        print("  numpy: ", np.array2string(want, precision=6, threshold=32))
        if got.shape == want.shape:
            diff = np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)), initial=0.0)
            print(f"  largest difference: {diff:.3g}")
    print(f"time per run: mean {report.mean_seconds * 1e3:.4f} ms over {report.runs} runs")
    match = _compare(report.outputs, reference)
    print(
        "MATCH: outputs equal the numpy reference"
        if match
        else "MISMATCH: outputs differ from the numpy reference"
    )
    return 0 if match else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``run`` and ``demo``."""
    run = subparsers.add_parser("run", help="build if needed and run a generated project's model")
    run.add_argument("project_dir", metavar="PROJECT_DIR")
    run.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=FILE.npy",
        help="an input tensor (repeatable); inputs not given are random",
    )
    run.add_argument("--output", metavar="DIR", help="write <output name>.npy files here")
    run.add_argument("--repeat", type=int, default=1, metavar="N", help="runs (default 1)")
    run.add_argument(
        "--print-top",
        type=int,
        default=0,
        metavar="K",
        help="also print the K largest values of each output (classifiers)",
    )
    run.add_argument(
        "--benchmark",
        type=int,
        default=0,
        metavar="N",
        help="time N more runs with the device's own clock",
    )
    run.add_argument(
        "--seed", type=int, default=_DEFAULT_SEED, help="seed of the random inputs (default 0)"
    )
    run.add_argument(
        "--graph-executor",
        choices=GRAPH_EXECUTORS,
        help="graph models, host_driven: run the graph on the device (default) or walk it on "
        "the host, calling each operator on the device",
    )
    run.add_argument(
        "--profile",
        action="store_true",
        help="host_driven projects: time every operator on the device and print a table "
        "sorted by time (graph models; AOT models say why they cannot)",
    )
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run_checks.add_arguments(run)
    run.set_defaults(func=_cmd_run)

    demo = subparsers.add_parser(
        "demo", help="generate, build and run the bundled example model on the host template"
    )
    demo.add_argument(
        "--project-dir",
        metavar="DIR",
        help="keep the generated project here (default: a temporary directory)",
    )
    demo.add_argument("--repeat", type=int, default=10, metavar="N", help="runs (default 10)")
    demo.set_defaults(func=_cmd_demo)
