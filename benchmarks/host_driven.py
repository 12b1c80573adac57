"""Host-driven inference speed on the host template, next to the standalone program.

For one AOT archive (default: MNIST, AOT packed API with a system library, the form TVM's own
host-driven flow needs) this generates and builds two host projects, ``host_driven`` and
``aot_standalone``, then measures in one run:

- per-inference wall latency of ``run()`` over the RPC session (host-driven);
- per-inference wall latency of one request to the standalone program (inputs in, outputs out);
- on-device time of ``run`` from the device's time evaluator;
- the RPC overhead per call (a call to a device function that does no work);
- array upload speed (host to device, chunked copies) in MB/s.

TVM v0.14's own host-driven flow ran the same archive at a median 5.4 ms per ``run()`` on a
machine like this one (its template builds at -O0); the table shows our latency as a ratio to
that. Run: ``.venv/bin/python benchmarks/host_driven.py [--archive PATH] [--runs N]``.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np
from benchdata import MLF_DIR

from projectapi import mlf, run
from projectapi.project import GeneratedProject, TemplateProject

DEFAULT_ARCHIVE = MLF_DIR / "mnist_aot_packed_syslib.tar"
TVM_RUN_MEDIAN_SEC = 5.4e-3  # TVM v0.14 host-driven run() on this archive, measured here
UPLOAD_BYTES = 256 * 1024


def _generate(archive: pathlib.Path, where: pathlib.Path, project_type: str) -> GeneratedProject:
    """A built host project of ``project_type`` for ``archive``."""
    with TemplateProject("host") as template:
        project = template.generate_project(
            archive, where / project_type, {"project_type": project_type}
        )
    project.build()
    return project


def _inputs(model: mlf.Model, archive: pathlib.Path) -> dict[str, np.ndarray]:
    """The archive's reference input when it has one beside it, else seeded random data."""
    reference = archive.with_suffix(".input.npy")
    if reference.is_file() and len(model.inputs) == 1:
        return {model.inputs[0].name: np.load(reference)}
    rng = np.random.default_rng(0)
    return {
        tensor.name: rng.integers(-8, 8, size=tensor.size).astype(tensor.dtype)
        for tensor in model.inputs
    }


def measure_host_driven(
    project: GeneratedProject, model: mlf.Model, inputs: dict[str, np.ndarray], runs: int
) -> dict[str, float]:
    """Wall latency of run(), device time, RPC overhead per call, upload MB/s."""
    with run.open_runner(project, model) as runner:
        runner.set_inputs(inputs)
        runner.run(1)  # warm-up
        run_wall = runner.run(runs).host_median
        device = runner.benchmark(runs).device_mean
        num_outputs = runner.executor.module.get_function("get_num_outputs")
        rpc_call = _median_seconds(num_outputs, runs)
        payload = np.arange(UPLOAD_BYTES, dtype=np.uint8)
        with runner.session.empty((UPLOAD_BYTES,), "uint8") as array:
            upload = _median_seconds(lambda: array.copyfrom(payload), max(5, runs // 20))
            np.testing.assert_array_equal(array.numpy(), payload)
    return {
        "run_wall": run_wall,
        "device": device,
        "rpc_call": rpc_call,
        "upload_mb_s": UPLOAD_BYTES / upload / 1e6,
    }


def measure_standalone(
    project: GeneratedProject, model: mlf.Model, inputs: dict[str, np.ndarray], runs: int
) -> dict[str, float]:
    """Wall latency of one standalone request (inputs in, one run, outputs out)."""
    with run.open_runner(project, model) as runner:
        runner.set_inputs(inputs)
        runner.run(1)  # warm-up
        wall = statistics.median(runner.run(1).host_wall[0] for _ in range(runs))
        device = runner.run(runs).device_mean
    return {"request_wall": wall, "device": device}


def _median_seconds(action: Callable[[], object], runs: int) -> float:
    """Median wall time of ``action`` over ``runs`` calls, after one warm-up call."""
    action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=pathlib.Path, default=DEFAULT_ARCHIVE)
    parser.add_argument("--runs", type=int, default=200, help="timed calls per measurement")
    args = parser.parse_args()
    model = mlf.open(args.archive).model()
    inputs = _inputs(model, args.archive)
    with tempfile.TemporaryDirectory(prefix="projectapi-bench-") as scratch:
        where = pathlib.Path(scratch)
        with _generate(args.archive, where, "host_driven") as project:
            driven = measure_host_driven(project, model, inputs, args.runs)
        with _generate(args.archive, where, "aot_standalone") as project:
            alone = measure_standalone(project, model, inputs, args.runs)

    ms = 1e3
    rows = [
        ("host-driven run() wall, median", f"{driven['run_wall'] * ms:.3f} ms",
         f"{driven['run_wall'] / TVM_RUN_MEDIAN_SEC:.2f}x TVM v0.14 (5.4 ms)"),
        ("standalone request wall, median", f"{alone['request_wall'] * ms:.3f} ms",
         f"host-driven / standalone = {driven['run_wall'] / alone['request_wall']:.2f}x"),
        ("on-device run (time evaluator), mean", f"{driven['device'] * ms:.3f} ms",
         f"standalone program's own clock: {alone['device'] * ms:.3f} ms"),
        ("RPC overhead per call (no-op call)", f"{driven['rpc_call'] * ms:.3f} ms",
         f"run() wall - device = {(driven['run_wall'] - driven['device']) * ms:.3f} ms"),
        ("array upload", f"{driven['upload_mb_s']:.1f} MB/s", f"{UPLOAD_BYTES // 1024} KiB array"),
    ]
    print(f"host-driven vs standalone: {args.archive.name}, {args.runs} runs per figure")
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)))


if __name__ == "__main__":
    main()
