"""``projectapi run`` (run a generated project's model) and ``projectapi demo``.

Both are thin: the run layer (``projectapi.run``) builds, flashes and runs; this module parses
arguments and prints. ``demo`` generates, builds and runs the bundled example model on the host
template and compares its outputs with the numpy reference.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from projectapi import run as run_layer
from projectapi.cli import output, run_checks
from projectapi.cli.farm_command import add_farm_options
from projectapi.cli.parsing import add_command, add_json
from projectapi.cli.project_commands import _add_options
from projectapi.project import TemplateProject
from projectapi.run.output_files import check_output_dir

if TYPE_CHECKING:
    from projectapi.micro import Profile

# Float comparison of the demo against its reference (the MLF archives' stated tolerance).
_RTOL, _ATOL = 1e-5, 1e-6


def _parse_inputs(pairs: list[str]) -> dict[str, pathlib.Path]:
    files: dict[str, pathlib.Path] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise run_layer.RunError(f"--input takes NAME=FILE.npy, got {pair!r}")
        if name in files:
            raise run_layer.RunError(f"--input {name} is given twice ({files[name]} and {path}); give it once")
        files[name] = pathlib.Path(path)
    return files


def _top_k(array: np.ndarray, k: int) -> list[tuple[int, float]]:
    flat = array.reshape(-1)
    order = np.argsort(-flat.astype(np.float64), kind="stable")[:k]
    return [(int(i), flat[i].item()) for i in order]


def _print_report(report: run_layer.RunReport, top: int) -> None:
    for name, array in report.outputs.items():
        print(f"output {name}: {array.dtype} {list(array.shape)}")
        print(np.array2string(array, precision=6, threshold=64))
        if top:
            ranked = ", ".join(f"#{i}={v:.6g}" for i, v in _top_k(array, top))
            print(f"  top {top}: {ranked}")
    timing = report.measurement
    print(
        f"time per run: mean {timing.mean_seconds * 1e3:.4f} ms, fastest "
        f"{timing.fastest_seconds * 1e3:.4f} ms over {timing.runs} runs ({timing.clock})"
    )
    if isinstance(report.profile, str):
        print(f"per-operator profile: not available: {report.profile}")
    elif report.profile is not None:
        from projectapi.micro import format_profile_table

        print(format_profile_table(report.profile))


def _report_json(report: run_layer.RunReport, top: int) -> dict:
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
        "runs": report.measurement.runs,
        "mean_seconds": report.measurement.mean_seconds,
        "fastest_seconds": report.measurement.fastest_seconds,
        "clock": report.measurement.clock,
        "measurement": report.measurement.to_dict(),
        **({"profile": _profile_json(report.profile)} if report.profile is not None else {}),
    }


def _profile_json(profile: Profile | str) -> dict:
    """A profile as a dict, or ``{"unavailable": reason}``."""
    return {"unavailable": profile} if isinstance(profile, str) else profile.to_dict()


def _cmd_run(args: argparse.Namespace) -> int:
    out_dir = pathlib.Path(args.output) if args.output else None
    if out_dir is not None:
        check_output_dir(out_dir)  # before the run, so its outputs are not lost
    options = run_layer.RunOptions(
        repeat=args.repeat,
        benchmark=args.benchmark,
        seed=args.seed,
        graph_executor=args.graph_executor,
        profile=args.profile,
        reshape=args.reshape,
        timeout=args.timeout,
        project_options=tuple(args.option_strings),
    )
    with run_checks.reported(args) as mismatches:
        report = _run(args, options)
        if out_dir is not None:
            for name, path in run_layer.write_outputs(out_dir, report.outputs).items():
                print(f"output {name!r} -> {path}", file=sys.stderr)
        output.emit(
            args,
            _report_json(report, args.print_top),
            lambda: _print_report(report, args.print_top),
        )
        return run_checks.check(args, report.outputs, mismatches)


def _run(args: argparse.Namespace, options: run_layer.RunOptions) -> run_layer.RunReport:
    """Run here, or with ``--farm`` on a qualifying board of the farm."""
    project_dir = pathlib.Path(args.project_dir).resolve()
    if not args.farm:
        return run_layer.run_project(project_dir, _parse_inputs(args.input), options)
    from projectapi.farm.connection import connected
    from projectapi.farm.remote_run import run_on_farm

    with connected(args.farm) as ray:
        board, report = run_on_farm(
            ray, project_dir, _parse_inputs(args.input), options, args.board_label
        )
    print(f"ran on board {board}", file=sys.stderr)
    return report


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
        report = run_layer.run_project(project_dir, input_files, run_layer.RunOptions(repeat=args.repeat))
    reference = list(example.example_reference(example.example_input()).values())
    match = _compare(report.outputs, reference)
    result = {
        "outputs": {
            name: {"device": got.reshape(-1).tolist(), "reference": np.asarray(want).tolist()}
            for (name, got), want in zip(report.outputs.items(), reference, strict=False)
        },
        "runs": report.measurement.runs,
        "mean_seconds": report.measurement.mean_seconds,
        "match": match,
    }
    output.emit(args, result, lambda: _print_demo(report, reference, match), ok=match)
    return 0 if match else 1


def _print_demo(report: run_layer.RunReport, reference: list[np.ndarray], match: bool) -> None:
    for (name, got), want in zip(report.outputs.items(), reference, strict=False):
        got, want = got.reshape(-1), np.asarray(want).reshape(-1)
        print(f"output {name}: {got.dtype} {got.size} values")
        print("  device:", np.array2string(got, precision=6, threshold=32))
        print("  numpy: ", np.array2string(want, precision=6, threshold=32))
        if got.shape == want.shape:
            diff = np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)), initial=0.0)
            print(f"  largest difference: {diff:.3g}")
    timing = report.measurement
    print(f"time per run: mean {timing.mean_seconds * 1e3:.4f} ms over {timing.runs} runs")
    print(
        "MATCH: outputs equal the numpy reference"
        if match
        else "MISMATCH: outputs differ from the numpy reference"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``run`` and ``demo``."""
    run = add_command(
        subparsers,
        "run",
        "build if needed and run a generated project's model",
        "projectapi run proj --input input=model.input.npy --print-top 3\n"
        "projectapi run proj --farm 10.0.0.1:6379 --board-label lab",
    )
    run.add_argument("project_dir", metavar="PROJECT_DIR", help="generated project directory")
    run.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=FILE.npy",
        help="an input tensor (repeatable); inputs not given are random",
    )
    run.add_argument(
        "--output",
        metavar="DIR",
        help="write each output to a .npy file here (safe file names; outputs.json maps tensor "
        "names to files)",
    )
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
        "--seed", type=int, default=run_layer.DEFAULT_SEED, help="seed of the random inputs (default 0)"
    )
    run.add_argument(
        "--reshape",
        action="store_true",
        help="accept an input file holding the right number of values in another shape",
    )
    run.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="wait this long for each reply of the device (default: follows the work, from the "
        "first run's time)",
    )
    _add_options(run, "build, flash and open_transport options")
    add_farm_options(run)
    run.add_argument(
        "--graph-executor",
        choices=run_layer.GRAPH_EXECUTORS,
        help="graph models, host_driven: run the graph on the device (default) or walk it on "
        "the host, calling each operator on the device",
    )
    run.add_argument(
        "--profile",
        action="store_true",
        help="host_driven projects: time every operator on the device and print a table "
        "sorted by time (graph models; AOT models say why they cannot)",
    )
    run_checks.add_arguments(run)
    add_json(run)
    run.set_defaults(func=_cmd_run)

    demo = add_command(
        subparsers,
        "demo",
        "generate, build and run the bundled example model on the host template",
        "projectapi demo --repeat 100",
    )
    demo.add_argument(
        "--project-dir",
        metavar="DIR",
        help="keep the generated project here (default: a temporary directory)",
    )
    demo.add_argument("--repeat", type=int, default=10, metavar="N", help="runs (default 10)")
    add_json(demo)
    demo.set_defaults(func=_cmd_demo)
