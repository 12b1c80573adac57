"""QEMU template: on-device time, host-driven latency and firmware size per model and board.

For each board and model this generates and builds a standalone and a host-driven firmware,
then measures:

- on-device time of one inference under ``-icount shift=0`` (one instruction per virtual
  nanosecond), as timer ticks and as instructions; and at QEMU's normal speed, in ms;
- host-driven wall latency of ``executor.run()`` over the emulated UART (median), next to the
  device's own time for the same run, so the RPC overhead per call shows; over the socket link
  and over the pseudo-terminal opened as a serial port (pyserial), side by side as a ratio;
- the standalone firmware's text/data/bss and its flash and RAM use against the board's limits.

Prints one table; a model that does not fit a board is listed below it with the build's words. Run: ``.venv/bin/python benchmarks/qemu.py [--boards B ...] [--models M ...]``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import tempfile

import numpy as np
from benchdata import MLF_DIR

from projectapi import mlf, run
from projectapi.errors import ProjectAPIError
from projectapi.project import TEMPLATES_DIR, GeneratedProject, TemplateProject

BOARDS = json.loads((TEMPLATES_DIR / "qemu" / "boards.json").read_text())
DEFAULT_MODELS = ("mnist_aot_c", "qnn_dense_int8_aot_c")
NS_PER_INSTRUCTION = 1  # -icount shift=0: each instruction advances virtual time by 2**0 ns
_ROUNDS = 3  # host-driven sessions per link, alternating socket and pty


def _project(tmp: pathlib.Path, board: str, model: str, project_type: str) -> GeneratedProject:
    with TemplateProject("qemu") as template:
        project = template.generate_project(
            MLF_DIR / f"{model}.tar", tmp / f"{board}-{model}-{project_type}",
            {"board": board, "project_type": project_type},
        )
    project.build()
    return project


def _inputs(model: str) -> tuple[mlf.Model, dict[str, np.ndarray]]:
    """The model and its reference input."""
    loaded = mlf.open(MLF_DIR / f"{model}.tar").model()
    return loaded, {loaded.inputs[0].name: np.load(MLF_DIR / f"{model}.input.npy")}


def _standalone_seconds(project: GeneratedProject, model: str, repeat: int, icount: bool) -> float:
    """Fastest on-device seconds of one inference, timed by the firmware."""
    loaded, inputs = _inputs(model)
    with run.open_runner(project, loaded, transport_options={"icount": icount}) as runner:
        runner.set_inputs(inputs)
        return runner.run(repeat).device_fastest


def _host_driven(
    project: GeneratedProject, model: str, runs: int, uart: str
) -> tuple[list[float], float]:
    """(wall seconds of each executor run, mean on-device seconds of one run) with the UART
    linked to the host by ``uart`` (socket or pty)."""
    loaded, inputs = _inputs(model)
    with run.open_runner(project, loaded, transport_options={"uart": uart}) as runner:
        runner.set_inputs(inputs)
        runner.run(1)  # warm-up
        walls = list(runner.run(runs).host_wall)
        device = runner.benchmark(runs).device_mean
    return walls, device


def _socket_and_pty(project: GeneratedProject, model: str, runs: int) -> tuple[float, float, float]:
    """Median run() wall seconds over the socket and over the pty, sessions alternating (so a
    change in the machine's load hits both alike), and the device's median seconds."""
    walls: dict[str, list[float]] = {"socket": [], "pty": []}
    devices = []
    for uart in ("socket", "pty") * _ROUNDS:
        measured, device = _host_driven(project, model, runs, uart)
        walls[uart] += measured
        devices.append(device)
    return statistics.median(walls["socket"]), statistics.median(walls["pty"]), min(devices)


def measure(tmp: pathlib.Path, board: str, model: str, runs: int) -> dict:
    """One row of the table."""
    hz = BOARDS[board]["timer"]["hz"]
    with _project(tmp, board, model, "aot_standalone") as project:
        report = json.loads((project.project_dir / "memory_report.json").read_text())
        icount_seconds = _standalone_seconds(project, model, runs, icount=True)
        device_seconds = _standalone_seconds(project, model, runs, icount=False)
    with _project(tmp, board, model, "host_driven") as project:
        wall, pty_wall, hd_device = _socket_and_pty(project, model, runs)
    return {
        "board": board,
        "model": model,
        "ticks": round(icount_seconds * hz),
        "instructions": round(icount_seconds * 1e9 / NS_PER_INSTRUCTION),
        "device_ms": device_seconds * 1e3,
        "hd_wall_ms": wall * 1e3,
        "hd_device_ms": hd_device * 1e3,
        "hd_pty_ms": pty_wall * 1e3,
        "pty_ratio": pty_wall / wall,
        "text": report["text"],
        "data": report["data"],
        "bss": report["bss"],
        "flash_pct": 100.0 * report["flash_used"] / report["flash_limit"],
        "ram_pct": 100.0 * report["ram_used"] / report["ram_limit"],
        "runtime_flash": report["flash_by_category"]["runtime"],
    }


# (row key, header, width, number format); the first two columns are left-aligned text.
_COLUMNS = (
    ("board", "board", 13, "s"), ("model", "model", 21, "s"), ("ticks", "ticks*", 9, "d"),
    ("instructions", "instr*", 11, "d"), ("device_ms", "dev ms", 8, ".2f"),
    ("hd_wall_ms", "HD wall ms", 10, ".2f"), ("hd_device_ms", "HD dev ms", 9, ".2f"),
    ("hd_pty_ms", "HD pty ms", 9, ".2f"), ("pty_ratio", "pty/sock", 8, ".2f"),
    ("text", "text", 7, "d"), ("data", "data", 5, "d"), ("bss", "bss", 7, "d"),
    ("flash_pct", "flash%", 6, ".1f"), ("ram_pct", "RAM%", 5, ".1f"),
    ("runtime_flash", "rt text", 7, "d"),
)


def _line(values: list) -> str:
    """One table line; text columns left-aligned, numbers right-aligned (headers too)."""
    cells = []
    for value, (_, _, width, kind) in zip(values, _COLUMNS, strict=True):
        align = "<" if kind == "s" else ">"
        cells.append(format(value, align + str(width) + ("s" if isinstance(value, str) else kind)))
    return "  ".join(cells)


def main() -> None:
    """Measure every requested (board, model) pair and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", nargs="+", default=sorted(BOARDS), choices=sorted(BOARDS))
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement")
    args = parser.parse_args()
    rows, refused = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for board in args.boards:
            for model in args.models:
                try:
                    rows.append(measure(pathlib.Path(tmp), board, model, args.runs))
                except ProjectAPIError as error:
                    if "does not fit" not in str(error):
                        raise
                    refused.append(f"{board} {model}: {str(error).split(': ', 2)[-1]}")
    print(_line([header for _, header, _, _ in _COLUMNS]))
    for row in rows:
        print(_line([row[key] for key, _, _, _ in _COLUMNS]))
    print("* under -icount shift=0 (timer ticks at the board's timer rate; instructions = virtual "
          "ns). dev ms: firmware's own time at QEMU's normal speed. HD: host-driven over the "
          "emulated UART, median executor.run() wall time (socket link; pty: the pseudo-terminal "
          "opened as a serial port; sessions alternate between the two) and the device's "
          "fastest median time for it. text/"
          "data/bss, flash%/RAM% of the board's limits and the runtime's text share: the "
          "standalone firmware.")
    for line in refused:
        print("does not fit:", line)


if __name__ == "__main__":
    main()
