"""projectapi measure on a board farm (Ray) against the same measure on local boards.

One run, side by side, the same 40 distinct candidates (y = 2x kernels doing 1..40 passes, real
builds) on mps2-an386 under QEMU -icount, 2 boards and 2 build CPUs either way:

- local: ``MeasurePool`` with 2 boards and 2 builders in this process;
- farm: a head (1 CPU) and a node with 2 boards (1 CPU), started with ``projectapi farm
  start/join`` inside a private network namespace (loopback only), with Ray's own health
  checks, measured by a driver in the same namespace through ``FarmMeasurer``;
- rounds: each round measures the candidates both ways, the order alternating from round to
  round, the farm started for its turn and stopped after it, so a machine whose speed drifts
  (other jobs) weighs on both alike. Throughput (candidates per minute) per round and over all
  rounds, and the farm/local ratio (target >= 0.9x);
- the time Ray adds per measurement: candidates measured one at a time, each by the farm and
  then by a local board in the same process (median of the differences), and an empty call to
  a board agent.

Run (as root, for ``unshare --net``): ``.venv/bin/python benchmarks/farm.py [--rounds 6]``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from benchdata import DATA_DIR

sys.path.insert(0, str(DATA_DIR.parent))  # the tests' farm helper and candidate kernels
from support.farm_cluster import FarmCluster
from tune import candidates as kernels

from projectapi import tune
from projectapi.tune.pool import LocalMeasurer

OPTIONS = ["board=mps2-an386", "project_type=aot_standalone", "icount=true"]
EVALUATOR = tune.TimeEvaluator(number=1, repeat=1)
NODE = """
[[board]]
name = "an386"
template = "qemu"
count = 2
[board.options]
board = "mps2-an386"
"""
POOL, ALONE = "pool", "alone"  # the candidates' folders: the pool's, the one-at-a-time ones


def _write_candidates(folder: pathlib.Path, passes: range) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for p in passes:
        kernels.good(folder / f"k{p}.tar", passes=p)


def _candidates(folder: pathlib.Path) -> list[tune.Candidate]:
    """The candidates written in ``folder``, by passes."""
    archives = sorted(folder.glob("k*.tar"), key=lambda p: int(p.stem[1:]))
    return [tune.Candidate.from_path(p) for p in archives]


def _target() -> tune.Target:
    return tune.Target.from_strings("qemu", OPTIONS)


def _pool_seconds(candidates: list[tune.Candidate], db: pathlib.Path, measurer: object) -> float:
    """Seconds to measure ``candidates`` into the fresh database ``db``; all must be ok."""
    with tune.ResultDatabase(db) as database:
        pool = tune.MeasurePool(
            _target(), EVALUATOR, database, boards=2, builders=2, measurer=measurer
        )
        start = time.perf_counter()
        report = pool.measure(candidates)
        seconds = time.perf_counter() - start
    bad = [r for r in report.results if not r.ok]
    if bad or len(report.results) != len(candidates):
        raise SystemExit(f"benchmark candidates failed: {bad[:1]}")
    return seconds


def _one_at_a_time(
    measurers: dict[str, object], candidates: list[tune.Candidate], work: pathlib.Path
) -> dict[str, list[float]]:
    """Wall seconds per candidate, measured one after another, each candidate by every
    measurer in turn (so a drifting machine weighs on each alike)."""
    reference = tune.Reference.random_for(candidates[0].archive, seed=0)
    walls: dict[str, list[float]] = {name: [] for name in measurers}
    for candidate in candidates:
        for name, measurer in measurers.items():
            start = time.perf_counter()
            result, _ = measurer.measure(candidate, reference, work)  # type: ignore[attr-defined]
            walls[name].append(time.perf_counter() - start)
            assert result.ok, result.error
    return walls


def _step_means(db: pathlib.Path) -> dict[str, float]:
    """Mean seconds of each recorded step (generate, build, receive...) over the results."""
    with tune.ResultDatabase(db) as database:
        results = list(database.results())
    steps = {key for r in results for key in r.seconds}
    return {key: statistics.fmean(r.seconds.get(key, 0.0) for r in results) for key in steps}


def inside(address: str, folder: pathlib.Path, db: pathlib.Path, single: bool) -> None:
    """The farm side, run inside the namespace: print its figures as JSON."""
    from projectapi.farm.connection import connected
    from projectapi.farm.discovery import find_agents
    from projectapi.farm.measurer import FarmMeasurer

    figures: dict[str, float] = {}
    with connected(address) as ray:
        measurer = FarmMeasurer(ray, _target(), EVALUATOR)
        figures["pooled"] = _pool_seconds(_candidates(folder / POOL), db, measurer)
        if single:
            local = LocalMeasurer(_target(), EVALUATOR, boards=1, builders=1)
            walls = _one_at_a_time(
                {"farm": measurer, "local": local}, _candidates(folder / ALONE), db.parent
            )
            figures["alone_farm"] = statistics.median(walls["farm"])
            figures["alone_local"] = statistics.median(walls["local"])
            figures["alone_added"] = statistics.median(
                f - loc for f, loc in zip(walls["farm"], walls["local"], strict=True)
            )
            agent = find_agents(ray)[0].handle
            ray.get(agent.describe.remote())
            start = time.perf_counter()
            for _ in range(200):
                ray.get(agent.describe.remote())
            figures["call"] = (time.perf_counter() - start) / 200
    print(json.dumps(figures))


def _farm_round(folder: pathlib.Path, db: pathlib.Path, single: bool) -> dict[str, float]:
    """Start the farm, measure through it, stop it; its figures."""
    cluster = FarmCluster(fast_failure_detection=False)
    try:
        cluster.start_head(num_cpus=1)
        cluster.join("node", NODE, num_cpus=1)
        command = [sys.executable, __file__, "--inside", cluster.address, "--folder", str(folder),
                   "--db", str(db), *(["--single"] if single else [])]  # fmt: skip
        done = subprocess.run(
            cluster.namespace.command(command), env=cluster.env, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
    finally:
        left = cluster.close()
    if done.returncode != 0:
        raise SystemExit(f"farm side failed:\n{done.stderr[-3000:]}")
    if left:
        raise SystemExit(f"farm processes left after stopping: {left}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _local_round(folder: pathlib.Path, db: pathlib.Path) -> float:
    measurer = LocalMeasurer(_target(), EVALUATOR, boards=2, builders=2)
    return _pool_seconds(_candidates(folder / POOL), db, measurer)


def _report(n: int, rounds: list[tuple[float, float]], local_steps: dict[str, float],
            farm_steps: dict[str, float], farm: dict[str, float]) -> None:  # fmt: skip
    print(f"measure of {n} distinct candidates on mps2-an386 (QEMU -icount), 2 boards, "
          f"2 build CPUs; {len(rounds)} rounds, the order alternating")  # fmt: skip
    print(f"{'round':<7}{'first':<7}{'local s':>9}{'farm s':>9}{'local/min':>11}{'farm/min':>10}"
          f"{'farm/local':>12}")  # fmt: skip
    for index, (local, on_farm) in enumerate(rounds, 1):
        first = "local" if index % 2 else "farm"
        print(f"{index:<7}{first:<7}{local:>9.1f}{on_farm:>9.1f}{n / local * 60:>11.1f}"
              f"{n / on_farm * 60:>10.1f}{local / on_farm:>11.2f}x")  # fmt: skip
    local_total = sum(r[0] for r in rounds)
    farm_total = sum(r[1] for r in rounds)
    total = n * len(rounds)
    print(f"{'all':<14}{local_total:>9.1f}{farm_total:>9.1f}{total / local_total * 60:>11.1f}"
          f"{total / farm_total * 60:>10.1f}{local_total / farm_total:>11.2f}x  (target >= 0.90x)")  # fmt: skip
    print()
    print("mean seconds per candidate and step (wall, both cores busy):")
    for step in sorted(set(local_steps) | set(farm_steps)):
        local = f"{local_steps[step]:.3f}" if step in local_steps else "-"
        print(f"  {step:<10} local {local:>6}   farm {farm_steps.get(step, 0.0):.3f}")
    print()
    print(f"one candidate at a time, local and farm in turn (medians of the --alone candidates, "
          f"generate+build+flash+measure): local {farm['alone_local'] * 1e3:.0f} ms, farm "
          f"{farm['alone_farm'] * 1e3:.0f} ms; Ray adds {farm['alone_added'] * 1e3:.0f} ms per "
          f"measurement (median of the pairs' differences)")  # fmt: skip
    print(f"an empty call to a board agent: {farm['call'] * 1e3:.2f} ms round trip")
    print("farm processes left after stopping: 0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=40, help="candidates per pool run")
    parser.add_argument("--rounds", type=int, default=6, help="pool runs each way")
    parser.add_argument("--alone", type=int, default=8, help="candidates timed one at a time")
    parser.add_argument("--inside", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=pathlib.Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=pathlib.Path, help=argparse.SUPPRESS)
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside, args.folder, args.db, args.single)
        return
    with tempfile.TemporaryDirectory(prefix="projectapi-farm-bench-") as temp:
        folder = pathlib.Path(temp)
        _write_candidates(folder / POOL, range(1, args.candidates + 1))
        _write_candidates(folder / ALONE, range(101, 101 + args.alone))
        rounds = []
        farm: dict[str, float] = {}
        for index in range(args.rounds):
            local_db, farm_db = folder / f"local{index}.db", folder / f"farm{index}.db"
            if index % 2 == 0:
                local = _local_round(folder, local_db)
                figures = _farm_round(folder, farm_db, single=index == 0)
            else:
                figures = _farm_round(folder, farm_db, single=False)
                local = _local_round(folder, local_db)
            farm = {**figures, **farm}
            rounds.append((local, figures["pooled"]))
        _report(args.candidates, rounds, _step_means(folder / "local0.db"),
                _step_means(folder / "farm0.db"), farm)  # fmt: skip


if __name__ == "__main__":
    main()
