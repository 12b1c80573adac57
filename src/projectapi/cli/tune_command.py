"""``projectapi tune``: a model's kernels searched on the device, the fastest in one archive."""

from __future__ import annotations

import argparse
import pathlib

from projectapi.cli import output
from projectapi.cli.compile_command import _TARGETS, _shapes
from projectapi.cli.farm_command import add_farm_options
from projectapi.cli.measure_command import add_measure_options, evaluator_from, measurer_for
from projectapi.cli.parsing import add_command, add_json
from projectapi.cli.project_commands import _add_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tune``."""
    parser = add_command(
        subparsers,
        "tune",
        "tune a model's kernels on the device with MetaSchedule and write the tuned MLF archive",
        "projectapi tune mnist-8.onnx tuned.tar --target cortex-m4 --template qemu "
        "-o board=mps2-an386 -o project_type=aot_standalone -o icount=true --trials 64 --boards 2\n"
        "projectapi tune mnist-8.onnx tuned.tar --target cortex-m4 --template qemu "
        "-o board=mps2-an386 -o project_type=aot_standalone -o icount=true --trials 64 "
        "--farm 10.0.0.1:6379",
    )
    parser.add_argument("model", type=pathlib.Path, help="model file: .onnx or .pt2")
    parser.add_argument("archive", type=pathlib.Path, help="tuned MLF archive (.tar) to write")
    parser.add_argument("--template", "-t", required=True, help="template name or directory")
    _add_options(parser, "template option for generate, build, flash and open_transport")
    parser.add_argument("--target", choices=_TARGETS, default="host", help="code target")
    parser.add_argument(
        "--input-shape", action="append", default=[], metavar="NAME=D0,D1,...",
        help="fix an ONNX input's shape (repeat for more inputs)",
    )  # fmt: skip
    parser.add_argument("--trials", type=int, required=True, help="candidates to measure in all")
    parser.add_argument(
        "--log", type=pathlib.Path,
        help="keep the results database, MetaSchedule's database and the archives here",
    )  # fmt: skip
    add_measure_options(parser)
    add_farm_options(parser)
    add_json(parser)
    parser.set_defaults(func=_tune)


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value * 1e6:,.1f}"


def _tune(args: argparse.Namespace) -> int:
    from projectapi import tune
    from projectapi.tune.model_tuning import tune_model
    from projectapi.tune.progress import Progress

    target = tune.Target.from_strings(args.template, args.option_strings)
    evaluator = evaluator_from(args)
    with (
        measurer_for(args, target, evaluator) as measurer,
        Progress(args.trials, "tune", quiet=args.json) as progress,
    ):
        report = tune_model(
            args.model,
            args.archive,
            target,
            code_target=args.target,
            trials=args.trials,
            boards=args.boards,
            log=args.log,
            evaluator=evaluator,
            input_shapes=_shapes(args.input_shape),
            on_result=progress.update,
            on_tasks=progress.set_total,
            measurer=measurer,
        )

    def text() -> None:
        rows = [
            [t.name, str(t.calls), _us(t.untuned), _us(t.best),
             "-" if t.speedup is None else f"{t.speedup:.2f}x", str(t.trials), str(t.failures),
             "yes" if t.chosen else "no"]
            for t in report.tasks
        ]  # fmt: skip
        headers = ["task", "calls", "untuned us", "best us", "speedup", "trials", "failed", "used"]
        print(output.table(headers, rows))
        print(
            f"whole model: {_us(report.untuned_seconds)} us untuned, {_us(report.tuned_seconds)} "
            f"us tuned ({report.untuned_seconds / report.tuned_seconds:.2f}x), device clock; "
            f"outputs match the untuned model"
        )
        print(f"wrote {report.archive} ({report.candidates} candidates in {report.seconds:.0f} s)")

    output.emit(args, report.to_dict(), text)
    return 0
