"""MNIST per-run latency: the graph executor on the device vs the graph walked on the host vs AOT.

Builds our runtime with each archive's generated code into a device that runs in a host process
(the RPC server on stdin/stdout, ``tests/micro/pipe_device.py``), opens one session per device
and, round after round, times one run of every executor: on the device with the device timer
(``benchmark(number=1)`` for the device's own executors; for the host walk, the device time of
its operator calls, i.e. the model code alone) and on the host as the wall time of ``run()`` (RPC
included). The AOT model's entry point called without the executor shows that executor's own
cost the same way. Rounds
alternate between executors so all see the same machine load; each figure is the mean over the
fastest half of the rounds. Prints one table, as ratios to AOT.

Run: ``.venv/bin/python benchmarks/graph.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

import numpy as np
from micro.pipe_device import PipeTransport, build_devices
from micro.transcripts import MLF_DIR, mlf_input_output

from projectapi import mlf, run
from projectapi.micro import Session
from projectapi.run import Measurement

AOT = "mnist_aot_packed_syslib"
GRAPHS = ("mnist_graph", "mnist_graph_params")
TARGET = 1.2  # the device-side graph executor within 1.2x of AOT on the device
DEVICE_GRAPH = "graph executor on the device"


@dataclass
class Row:
    """One executor's runner and the measurements so far."""

    executor: str
    archive: str
    runner: Any  # a projectapi.run.ModelRunner, or _EntryPoint
    device: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def measure(self) -> None:
        """Time one run on the device and one on the host."""
        self.device.append(self.runner.benchmark(1).device_mean)
        self.wall.append(self.runner.run(1).host_wall[0])


class _EntryPoint:
    """The AOT model's entry point called from the system library, without the executor."""

    def __init__(self, stack: contextlib.ExitStack, session: Session, x: np.ndarray) -> None:
        self._syslib = stack.enter_context(session.system_lib())
        self._entry = stack.enter_context(self._syslib.get_function("tvmgen_default_run"))
        self._tensors = (
            stack.enter_context(session.array(x)),
            stack.enter_context(session.empty((1, 10))),
        )

    def run(self, repeat: int = 1) -> Measurement:
        walls = []
        for _ in range(repeat):
            start = time.perf_counter()
            self._entry(*self._tensors)
            walls.append(time.perf_counter() - start)
        return Measurement(repeat, host_wall=tuple(walls))

    def benchmark(self, runs: int) -> Measurement:
        with self._syslib.time_evaluator("tvmgen_default_run", number=runs) as timer:
            (seconds,) = timer(*self._tensors)
        return Measurement(runs, device_mean=seconds, device_fastest=seconds)


def fast_half_mean(samples: list[float]) -> float:
    """Mean of the fastest half (rounded up) of ``samples``."""
    return statistics.fmean(sorted(samples)[: (len(samples) + 1) // 2])


def _runner(stack: contextlib.ExitStack, session: Session, archive: str, where: str | None) -> Any:
    """A run-layer runner for ``archive`` over ``session``, its reference input set."""
    model = mlf.open(MLF_DIR / f"{archive}.tar").model()
    runner = stack.enter_context(contextlib.closing(run.session_runner(session, model, where)))
    runner.set_inputs({"Input3": mlf_input_output(archive)[0]})
    return runner


def open_rows(stack: contextlib.ExitStack, devices: Any) -> list[Row]:
    """Runners for AOT and both graph archives (device-side and host walk)."""
    session = stack.enter_context(Session(PipeTransport(devices[AOT])))
    rows = [
        Row("AOT executor on the device", AOT, _runner(stack, session, AOT, None)),
        Row("AOT model code, no executor", AOT,
            _EntryPoint(stack, session, mlf_input_output(AOT)[0])),
    ]
    for archive in GRAPHS:
        session = stack.enter_context(Session(PipeTransport(devices[archive])))
        rows.append(Row(DEVICE_GRAPH, archive, _runner(stack, session, archive, "device")))
        rows.append(
            Row("graph walked on the host", archive, _runner(stack, session, archive, "host"))
        )
    return rows


def table(rows: list[Row], rounds: int) -> str:
    """The comparison table, ratios to the AOT row."""
    device = [fast_half_mean(r.device) * 1e3 for r in rows]
    wall = [fast_half_mean(r.wall) * 1e3 for r in rows]
    lines = [
        f"MNIST, one run (mean of the fastest {(rounds + 1) // 2} of {rounds} rounds; "
        "devices: our runtime in host processes, gcc -O2)",
        f"{'executor':<30} {'archive':<24} {'device ms':>9} {'x AOT':>6} "
        f"{'host wall ms':>12} {'x AOT':>6}",
    ]
    for row, dev_ms, wall_ms in zip(rows, device, wall, strict=True):
        lines.append(
            f"{row.executor:<30} {row.archive:<24} {dev_ms:>9.3f} {dev_ms / device[0]:>6.2f} "
            f"{wall_ms:>12.3f} {wall_ms / wall[0]:>6.2f}"
        )
    worst = max(
        d / device[0] for r, d in zip(rows, device, strict=True) if r.executor == DEVICE_GRAPH
    )
    verdict = "met" if worst <= TARGET else "NOT met"
    lines.append(
        f"graph executor on the device: at most {worst:.2f}x AOT on the device "
        f"(target {TARGET}x: {verdict})"
    )
    return "\n".join(lines)


def main() -> None:
    """Build the devices, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="runs per executor (default 60)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        devices = build_devices(pathlib.Path(tmp), (AOT, *GRAPHS))
        with contextlib.ExitStack() as stack:
            rows = open_rows(stack, devices)
            for _ in range(args.rounds):
                for row in rows:
                    row.measure()
    print(table(rows, args.rounds))


if __name__ == "__main__":
    main()
