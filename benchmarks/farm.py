"""projectapi measure on a board farm (Ray) against the same measure on local boards.

One run, side by side, the same 40 distinct candidates (y = 2x kernels doing 1..40 passes, real
builds) on mps2-an386 under QEMU -icount, 2 boards and 2 build CPUs either way:

- local: ``MeasurePool`` with 2 boards and 2 builders in this process;
- farm: a head (1 CPU) and a node with 2 boards (1 CPU), started with ``projectapi farm
  start/join`` inside a private network namespace (loopback only), measured by a driver in the
  same namespace through ``FarmMeasurer``;
- throughput (candidates per minute) and the farm/local ratio (target >= 0.9x);
- the time Ray adds per measurement: candidates measured one at a time both ways (median wall
  time per candidate, farm minus local), and an empty call to a board agent.

Run (as root, for ``unshare --net``): ``.venv/bin/python benchmarks/farm.py [--candidates 40]``.
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


def _candidates(folder: pathlib.Path, passes: range) -> list[tune.Candidate]:
    folder.mkdir(parents=True, exist_ok=True)
    return [tune.Candidate.from_path(kernels.good(folder / f"k{p}.tar", passes=p)) for p in passes]


def _pool_rate(candidates: list[tune.Candidate], db: pathlib.Path, measurer: object) -> float:
    """Seconds to measure ``candidates`` with a fresh database; all must be ok."""
    target = tune.Target.from_strings("qemu", OPTIONS)
    with tune.ResultDatabase(db) as database:
        pool = tune.MeasurePool(
            target, EVALUATOR, database, boards=2, builders=2, measurer=measurer
        )
        start = time.perf_counter()
        report = pool.measure(candidates)
        seconds = time.perf_counter() - start
    bad = [r for r in report.results if not r.ok]
    if bad or len(report.results) != len(candidates):
        raise SystemExit(f"benchmark candidates failed: {bad[:1]}")
    return seconds


def _one_at_a_time(measurer: object, candidates: list[tune.Candidate], work: pathlib.Path) -> float:
    """Median wall seconds per candidate, measured one after another."""
    reference = tune.Reference.random_for(candidates[0].archive, seed=0)
    walls = []
    for candidate in candidates:
        start = time.perf_counter()
        result, _ = measurer.measure(candidate, reference, work)  # type: ignore[attr-defined]
        walls.append(time.perf_counter() - start)
        assert result.ok, result.error
    return statistics.median(walls)


def inside(address: str, folder: pathlib.Path, count: int, single: int) -> None:
    """The farm side, run inside the namespace: print its figures as JSON."""
    from projectapi.farm.connection import connected
    from projectapi.farm.discovery import find_agents
    from projectapi.farm.measurer import FarmMeasurer

    target = tune.Target.from_strings("qemu", OPTIONS)
    with connected(address) as ray:
        measurer = FarmMeasurer(ray, target, EVALUATOR)
        pooled = _pool_rate(_candidates(folder / "pool", range(1, count + 1)), folder / "f.db",
                            measurer)  # fmt: skip
        alone = _one_at_a_time(
            measurer, _candidates(folder / "alone", range(101, 101 + single)), folder
        )
        agent = find_agents(ray)[0].handle
        ray.get(agent.describe.remote())
        start = time.perf_counter()
        for _ in range(200):
            ray.get(agent.describe.remote())
        call = (time.perf_counter() - start) / 200
    with tune.ResultDatabase(folder / "f.db") as database:
        receive = statistics.fmean(r.seconds["receive"] for r in database.results())
    print(json.dumps({"pooled": pooled, "alone": alone, "call": call, "receive": receive}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=40, help="candidates per pool run")
    parser.add_argument("--single", type=int, default=8, help="candidates timed one at a time")
    parser.add_argument("--inside", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=pathlib.Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside, args.folder, args.candidates, args.single)
        return
    with tempfile.TemporaryDirectory(prefix="projectapi-farm-bench-") as temp:
        folder = pathlib.Path(temp)
        target = tune.Target.from_strings("qemu", OPTIONS)
        local = LocalMeasurer(target, EVALUATOR, boards=2, builders=2)
        local_pooled = _pool_rate(
            _candidates(folder / "pool", range(1, args.candidates + 1)), folder / "l.db", local
        )
        local_alone = _one_at_a_time(
            LocalMeasurer(target, EVALUATOR, boards=1, builders=1),
            _candidates(folder / "alone", range(101, 101 + args.single)),
            folder,
        )
        cluster = FarmCluster()
        try:
            cluster.start_head(num_cpus=1)
            cluster.join("node", NODE, num_cpus=1)
            command = [sys.executable, __file__, "--inside", cluster.address, "--folder",
                       str(cluster.root), "--candidates", str(args.candidates),
                       "--single", str(args.single)]  # fmt: skip
            done = subprocess.run(
                cluster.namespace.command(command), env=cluster.env, capture_output=True,
                text=True, check=False,
            )  # fmt: skip
        finally:
            left = cluster.close()
    if done.returncode != 0:
        raise SystemExit(f"farm side failed:\n{done.stderr[-3000:]}")
    farm = json.loads(done.stdout.strip().splitlines()[-1])
    n = args.candidates
    rate_local, rate_farm = n / local_pooled * 60, n / farm["pooled"] * 60
    print(
        f"measure of {n} distinct candidates on mps2-an386 (QEMU -icount), 2 boards, 2 build CPUs"
    )
    print(f"{'':<34}{'wall s':>9}{'cand/min':>10}")
    print(f"{'local pool (threads, Slots)':<34}{local_pooled:>9.1f}{rate_local:>10.1f}")
    print(f"{'farm (Ray, head + 1 node, netns)':<34}{farm['pooled']:>9.1f}{rate_farm:>10.1f}")
    print(f"throughput farm / local: {rate_farm / rate_local:.2f}x (target >= 0.90x)")
    print()
    print(f"one candidate at a time (median of {args.single}, generate+build+flash+measure):")
    print(f"  local {local_alone * 1e3:.0f} ms, farm {farm['alone'] * 1e3:.0f} ms: "
          f"Ray adds {(farm['alone'] - local_alone) * 1e3:.0f} ms per measurement")  # fmt: skip
    print(f"  an empty call to a board agent: {farm['call'] * 1e3:.2f} ms round trip")
    print(f"  on the board's node, unpacking the built project and starting its server: "
          f"{farm['receive'] * 1e3:.0f} ms (mean over the pool run)")  # fmt: skip
    print(f"farm processes left after stopping: {len(left)}")


if __name__ == "__main__":
    main()
