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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

from micro.pipe_device import PipeTransport, build_devices, graph_files
from micro.transcripts import mlf_input_output

from projectapi.micro import Session

AOT = "mnist_aot_packed_syslib"
GRAPHS = ("mnist_graph", "mnist_graph_params")
TARGET = 1.2  # the device-side graph executor within 1.2x of AOT on the device
DEVICE_GRAPH = "graph executor on the device"


@dataclass
class Row:
    """One executor: how to time a run on the device, and the measurements so far."""

    executor: str
    archive: str
    run: Callable[[], Any]
    device_time: Callable[[], float]
    device: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def measure(self) -> None:
        """Time one run on the device and one on the host."""
        self.device.append(self.device_time())
        start = time.perf_counter()
        self.run()
        self.wall.append(time.perf_counter() - start)


def fast_half_mean(samples: list[float]) -> float:
    """Mean of the fastest half (rounded up) of ``samples``."""
    return statistics.fmean(sorted(samples)[: (len(samples) + 1) // 2])


def open_rows(stack: contextlib.ExitStack, devices: Any) -> list[Row]:
    """Sessions and executors for AOT and both graph archives (device-side and host walk)."""
    session = stack.enter_context(Session(PipeTransport(devices[AOT])))
    aot = stack.enter_context(session.create_aot_executor())
    x = mlf_input_output(AOT)[0]
    aot.set_input("Input3", x)
    # The AOT model code without the executor: its entry point called from the system library.
    syslib = stack.enter_context(session.system_lib())
    entry = stack.enter_context(syslib.get_function("tvmgen_default_run"))
    tensors = (stack.enter_context(session.array(x)), stack.enter_context(session.empty((1, 10))))

    def time_entry() -> float:
        with syslib.time_evaluator("tvmgen_default_run", number=1) as timer:
            return timer(*tensors)[0]

    rows = [
        Row("AOT executor on the device", AOT, aot.run, lambda: aot.benchmark(1, 1).results[0]),
        Row("AOT model code, no executor", AOT, lambda: entry(*tensors), time_entry),
    ]
    for archive in GRAPHS:
        graph_json, params = graph_files(archive)
        x = mlf_input_output(archive)[0]
        session = stack.enter_context(Session(PipeTransport(devices[archive])))
        on_device = stack.enter_context(session.create_graph_executor(graph_json, params))
        walked = stack.enter_context(session.create_host_graph_executor(graph_json, params))
        on_device.set_input("Input3", x)
        walked.set_input("Input3", x)
        rows.append(
            Row(
                DEVICE_GRAPH,
                archive,
                on_device.run,
                lambda ex=on_device: ex.benchmark(1, 1).results[0],
            )
        )
        rows.append(
            Row(
                "graph walked on the host",
                archive,
                walked.run,
                lambda ex=walked: ex.profile(repeat=1).whole_run,
            )
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
