"""projectapi tune on mnist-8 for mps2-an386 (Cortex-M4F under QEMU -icount shift=0).

One run, side by side:

- instructions per inference of the untuned model (``projectapi compile``'s schedule), the
  tuned one (a fixed trial budget, 2 boards), and TVM v0.14's ``mnist_aot_c`` archive, each timed
  by the firmware's own clock under ``-icount shift=0`` (one instruction per virtual nanosecond,
  so the figures are deterministic); the outputs of all three are checked against each other;
- candidates measured per minute with 1 and 2 boards (the same candidates, a fresh database);
- where a candidate's time goes: generate, build, flash and measure (host seconds, mean).

Run: ``.venv/bin/python benchmarks/tune.py [--trials 200] [--rate-candidates 16]``.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import tempfile
import time

from benchdata import MLF_DIR, MODELS_DIR

from projectapi import tune
from projectapi.tune.model_tuning import CANDIDATE_DIR, TuneReport, tune_model

MNIST_ONNX = MODELS_DIR / "mnist-8.onnx"
BASELINE = MLF_DIR / "mnist_aot_c.tar"
BOARD = "mps2-an386"
OPTIONS = [f"board={BOARD}", "project_type=aot_standalone", "icount=true"]
EVALUATOR = tune.TimeEvaluator(number=1, repeat=1)  # -icount: every repeat is equal


def _instructions(seconds: float | None) -> str:
    return "-" if seconds is None else f"{round(seconds * 1e9):,}"  # shift=0: 1 ns = 1 instruction


def tuned_figures(tmp: pathlib.Path, trials: int, boards: int) -> tuple[TuneReport, pathlib.Path]:
    """Tune mnist-8 within ``trials``; the report and the log folder."""
    target = tune.Target.from_strings("qemu", OPTIONS)
    log = tmp / "log"
    report = tune_model(
        MNIST_ONNX,
        tmp / "tuned.tar",
        target,
        code_target="cortex-m4",
        trials=trials,
        boards=boards,
        log=log,
        evaluator=EVALUATOR,
    )
    return report, log


def baseline_seconds(tmp: pathlib.Path, log: pathlib.Path) -> tune.MeasureResult:
    """TVM v0.14's archive on the same board, checked against our untuned model's outputs."""
    target = tune.Target.from_strings("qemu", OPTIONS)
    with tune.ResultDatabase(tmp / "baseline.db") as db:
        pool = tune.MeasurePool(target, EVALUATOR, db)
        untuned = tune.Candidate.from_path(log / "model-untuned.tar")
        report = pool.measure([tune.Candidate.from_path(BASELINE)], untuned)
    return report.results[0]


def rate(
    candidates: list[pathlib.Path], boards: int, tmp: pathlib.Path
) -> tuple[int, list[tune.MeasureResult], float]:
    """Candidates measured per minute on ``boards`` boards (fresh database); the results."""
    target = tune.Target.from_strings("qemu", OPTIONS)
    with tune.ResultDatabase(tmp / f"rate-{boards}.db") as db:
        pool = tune.MeasurePool(target, EVALUATOR, db, boards=boards)
        chosen = [tune.Candidate.from_path(p) for p in candidates]
        start = time.perf_counter()
        report = pool.measure(chosen)
        minutes = (time.perf_counter() - start) / 60
    return len(chosen), report.results, minutes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200, help="tuning budget (candidates)")
    parser.add_argument(
        "--rate-candidates", type=int, default=16, help="candidates timed for the rate rows"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        tmp = pathlib.Path(temp)
        report, log = tuned_figures(tmp, args.trials, boards=2)
        baseline = baseline_seconds(tmp, log)
        task = max(report.tasks, key=lambda t: t.trials)  # the task with most candidates
        pool_of = sorted((log / CANDIDATE_DIR / task.name).glob("*.tar"))[: args.rate_candidates]
        rates = {}
        costs: dict[str, list[float]] = {}
        for boards in (1, 2):
            count, results, minutes = rate(pool_of, boards, tmp)
            rates[boards] = count / minutes
            for result in results:
                for step, seconds in result.seconds.items():
                    costs.setdefault(step, []).append(seconds)
    print(f"{'per-task (device clock, instructions)':<28}")
    print(f"{'task':<28}{'untuned':>12}{'best':>12}{'speedup':>9}{'trials':>8}{'failed':>8}")
    for t in report.tasks:
        speed = "-" if t.speedup is None else f"{t.speedup:.2f}x"
        print(
            f"{t.name:<28}{_instructions(t.untuned):>12}{_instructions(t.best):>12}"
            f"{speed:>9}{t.trials:>8}{t.failures:>8}"
        )
    print()
    ours = report.untuned_seconds
    print(f"{'whole model on ' + BOARD:<36}{'instructions':>14}{'vs untuned':>12}")
    for label, seconds in (
        ("untuned (projectapi compile)", ours),
        (f"tuned ({args.trials} trials, 2 boards)", report.tuned_seconds),
        ("TVM v0.14 mnist_aot_c", baseline.best),
    ):
        ratio = "-" if not seconds else f"{ours / seconds:.2f}x"
        print(f"{label:<36}{_instructions(seconds):>14}{ratio:>12}")
    print(
        f"(TVM v0.14 archive status: {baseline.status}; outputs checked against the untuned model)"
    )
    print()
    print(f"{'candidates measured per minute':<36}{'1 board':>10}{'2 boards':>10}{'ratio':>8}")
    print(
        f"{'(same ' + str(len(pool_of)) + ' candidates, fresh database)':<36}"
        f"{rates[1]:>10.1f}{rates[2]:>10.1f}{rates[2] / rates[1]:>8.2f}"
    )
    print()
    print(f"{'per-candidate cost (host s, mean)':<36}" + "".join(f"{s:>10}" for s in tune.STEPS))
    print(
        f"{'':<36}" + "".join(f"{statistics.fmean(costs.get(s, [0.0])):>10.2f}" for s in tune.STEPS)
    )
    print(
        f"tuning: {report.candidates} candidates in {report.seconds:.0f} s wall "
        f"({report.candidates / report.seconds * 60:.1f}/min including MetaSchedule's generation "
        "and the untuned references); summed step seconds: "
        + ", ".join(f"{k} {v:.0f}" for k, v in sorted(report.step_seconds.items()))
    )


if __name__ == "__main__":
    main()
