"""``projectapi measure``: time candidate archives on a pool of boards, recording every result."""

from __future__ import annotations

import argparse
import contextlib
import pathlib
from collections.abc import Iterator
from typing import Any

from projectapi.cli import output
from projectapi.cli.farm_command import add_farm_options
from projectapi.cli.parsing import add_command, add_json
from projectapi.cli.project_commands import _add_options

DEFAULT_DB = "measurements.db"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``measure``."""
    parser = add_command(
        subparsers,
        "measure",
        "time candidate MLF archives of one model on a pool of boards, checking their outputs",
        "projectapi measure a.tar b.tar --template qemu -o board=mps2-an386 "
        "-o project_type=aot_standalone -o icount=true --boards 2\n"
        "projectapi measure a.tar b.tar --template qemu -o board=mps2-an386 "
        "-o project_type=aot_standalone -o icount=true --farm 10.0.0.1:6379",
    )
    parser.add_argument(
        "candidates",
        nargs="+",
        type=pathlib.Path,
        metavar="CANDIDATE.tar",
        help="MLF archives of one model (same inputs and outputs) to time",
    )
    parser.add_argument("--template", "-t", required=True, help="template name or directory")
    _add_options(parser, "template option for generate, build, flash and open_transport")
    parser.add_argument(
        "--db",
        type=pathlib.Path,
        default=pathlib.Path(DEFAULT_DB),
        help=f"results database; a re-run skips what it holds (default {DEFAULT_DB})",
    )
    parser.add_argument(
        "--reference",
        type=pathlib.Path,
        help="archive whose outputs every candidate must match (default: the first candidate)",
    )
    add_measure_options(parser)
    add_farm_options(parser)
    add_json(parser)
    parser.set_defaults(func=_measure)


def add_measure_options(parser: argparse.ArgumentParser) -> None:
    """``--boards`` and the time evaluator's options (shared by ``measure`` and ``tune``)."""
    parser.add_argument(
        "--boards", type=int, default=1, help="boards measuring at once (default 1)"
    )
    parser.add_argument("--number", type=int, default=1, help="runs per measurement (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements (default 3)")
    parser.add_argument(
        "--min-repeat-ms",
        type=float,
        default=0.0,
        help="raise --number until a measurement lasts this long on the device (default 0)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        help="seconds a device may stay silent before its candidate counts as hung (default 20)",
    )


def evaluator_from(args: argparse.Namespace) -> Any:
    """The TimeEvaluator the options ask for."""
    from projectapi import tune

    return tune.TimeEvaluator(
        number=args.number,
        repeat=args.repeat,
        min_repeat_ms=args.min_repeat_ms,
        timeout=args.timeout,
    )


@contextlib.contextmanager
def measurer_for(args: argparse.Namespace, target: Any, evaluator: Any) -> Iterator[Any]:
    """The farm's measurer with ``--farm`` (connected for the block), else None (local)."""
    if not args.farm:
        yield None
        return
    from projectapi.farm.connection import connected
    from projectapi.farm.measurer import FarmMeasurer

    with connected(args.farm) as ray:
        yield FarmMeasurer(ray, target, evaluator, args.board_label)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value * 1e6:,.2f} us"


def _measure(args: argparse.Namespace) -> int:
    from projectapi import tune
    from projectapi.tune.progress import Progress

    evaluator = evaluator_from(args)
    candidates = [tune.Candidate.from_path(path) for path in args.candidates]
    reference = tune.Candidate.from_path(args.reference) if args.reference else None
    target = tune.Target.from_strings(args.template, args.option_strings)
    with (
        tune.ResultDatabase(args.db) as database,
        measurer_for(args, target, evaluator) as measurer,
    ):
        pool = tune.MeasurePool(target, evaluator, database, boards=args.boards, measurer=measurer)
        total = len({c.digest for c in candidates})
        done = pool.recorded(candidates)
        with Progress(total, "measure", done=done, quiet=args.json) as progress:
            report = pool.measure(candidates, reference, on_result=progress.update)
    result: dict[str, Any] = {
        "db": str(args.db),
        "measured": report.measured,
        "best": report.best.to_dict() if report.best else None,
        "results": [r.to_dict() for r in report.results],
    }

    def text() -> None:
        rows = [
            [
                pathlib.Path(r.archive).name,
                r.candidate[:12],
                r.board,
                r.status,
                _seconds(r.best),
                r.error[:120],
            ]
            for r in report.results
        ]
        print(output.table(["archive", "hash", "board", "status", "best", "error"], rows))
        recorded = len(report.results) - report.measured
        print(f"{report.measured} measured now, {recorded} recorded before, database {args.db}")
        if report.best:
            print(
                f"best: {report.best.archive} {_seconds(report.best.best)} per run (device clock)"
            )

    output.emit(args, result, text)
    return 0
