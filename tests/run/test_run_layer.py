"""The run layer's parts that need no device: input checks, output files, timing, deadlines."""

from __future__ import annotations

import json
import struct
import time

import numpy as np
import pytest

from projectapi import run, server, standalone
from projectapi.tensors import InputError, TensorLayout, check_input, read_npy

IMAGE = TensorLayout("Input3", np.dtype("float32"), (1, 1, 28, 28))
OUT = [TensorLayout("y", np.dtype("float32"), (2,))]


def test_an_input_of_another_shape_is_refused_unless_reshape_is_asked_for() -> None:
    flat = np.zeros((28, 28), np.float32)
    with pytest.raises(InputError, match=r"holds shape \[28, 28\].*--reshape"):
        check_input(IMAGE, flat)
    assert check_input(IMAGE, flat, reshape=True).shape == (1, 1, 28, 28)
    with pytest.raises(InputError, match=r"has shape \[1, 1, 28, 28\]"):
        check_input(IMAGE, np.zeros(10, np.float32), reshape=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"1 2 3\n", "is not a .npy file"),
        (None, "is an .npz archive"),
    ],
)
def test_a_file_that_is_not_one_npy_array_is_named_as_such(tmp_path, content, message) -> None:
    path = tmp_path / "x"
    if content is None:
        np.savez(path, a=np.zeros(3))
        path = tmp_path / "x.npz"
    else:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        read_npy(path, "input x")
    assert "pickled" not in str(caught.value)


@pytest.mark.parametrize("hostile", ["/tmp/x", "../../x", "..", "", "a/../../b", "\x00"])
def test_output_names_never_become_paths(tmp_path, hostile) -> None:
    out_dir = tmp_path / "deep" / "out"
    outputs = {hostile: np.arange(3), "output": np.ones(2), "output.npy": np.zeros(1)}
    written = run.write_outputs(out_dir, outputs)
    for name, path in written.items():
        assert path.parent == out_dir and path.suffix == ".npy", (name, path)
        np.testing.assert_array_equal(np.load(path), outputs[name])
    assert len({p.name for p in written.values()}) == 3
    index = json.loads((out_dir / run.INDEX_NAME).read_text())
    assert index == {name: path.name for name, path in written.items()}
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        [*(p.name for p in written.values()), run.INDEX_NAME]
    )


def test_measurement_says_which_clock_said_what() -> None:
    host_only = run.Measurement(3, host_wall=(0.3, 0.1, 0.2))
    assert host_only.clock == run.HOST_WALL_CLOCK
    assert (host_only.fastest_seconds, host_only.host_median) == (0.1, 0.2)
    both = run.Measurement(3, (0.5,), 0.2, 0.1, "fastest of 3 batches")
    assert both.clock == "device clock, fastest of 3 batches"
    assert (both.mean_seconds, both.fastest_seconds) == (0.2, 0.1)
    assert both.to_dict()["host_wall"]["mean_seconds"] == 0.5
    assert host_only.to_dict()["device"] is None


class _SlowProgram:
    """A standalone program that needs ``seconds_per_run`` per run and answers only then."""

    def __init__(self, seconds_per_run: float) -> None:
        self._per_run = seconds_per_run
        self._ready_at = 0.0
        self._reply = b""
        self.read_timeouts: list[float | None] = []

    def write(self, data: bytes, timeout_sec: float | None) -> None:
        _, repeat = struct.unpack_from("<4sI", data)
        self._ready_at = time.monotonic() + repeat * self._per_run
        total = repeat * self._per_run
        body = np.zeros(2, np.float32).tobytes()
        self._reply = struct.pack("<4siIdd", b"PAO1", 0, repeat, total, self._per_run) + body

    def read(self, n: int, timeout_sec: float | None) -> bytes:
        self.read_timeouts.append(timeout_sec)
        wait = self._ready_at - time.monotonic()
        if timeout_sec is not None and wait > timeout_sec:
            time.sleep(timeout_sec)
            raise server.IoTimeoutError("no reply")
        time.sleep(max(wait, 0.0))
        piece, self._reply = self._reply[:n], self._reply[n:]
        return piece


def test_standalone_deadline_follows_the_work() -> None:
    program = _SlowProgram(0.02)
    runner = run.StandaloneModelRunner(program, [], OUT, first_run_timeout=0.5)
    runner.set_inputs({})
    timing = runner.run(60)  # 1.2 s of work, more than the first run's deadline
    assert timing.runs == 60
    assert timing.device_mean == pytest.approx(0.02)
    assert max(t for t in program.read_timeouts if t is not None) >= 60 * 0.02


def test_standalone_timeout_overrides_the_deadline() -> None:
    runner = run.StandaloneModelRunner(_SlowProgram(0.02), [], OUT, timeout=0.2)
    runner.set_inputs({})
    runner.run(1)
    with pytest.raises(standalone.StandaloneError, match=r"within 0.2 s.*--timeout"):
        runner.run(60)


def test_work_deadline_scales_with_runs_and_keeps_its_floor() -> None:
    assert run.work_deadline(1, 0.001, 60.0) == 60.0
    assert run.work_deadline(1000, 0.1, 60.0) > 100.0
