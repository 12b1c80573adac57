"""The host side of the standalone link protocol, as pure bytes in and values out."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from projectapi import server, standalone
from projectapi.tensors import InputError, TensorLayout

OUT = [TensorLayout("y", np.dtype("float32"), (1, 2))]


def _reply(status: int, repeat: int, body: bytes = b"") -> bytes:
    return struct.pack("<4siIdd", b"PAO1", status, repeat, 0.5, 0.125) + body


def test_request_layout() -> None:
    assert standalone.encode_request([b"ab", b"c"], 7) == b"PAR1\x07\x00\x00\x00abc"


@pytest.mark.parametrize("repeat", [0, 2**32])
def test_request_refuses_repeat_out_of_range(repeat) -> None:
    with pytest.raises(standalone.StandaloneError, match="repeat"):
        standalone.encode_request([], repeat)


def test_reply_after_noise_in_pieces() -> None:
    body = np.array([[1.5, -2.0]], dtype=np.float32).tobytes()
    data = b"boot log\n" + _reply(0, 4, body)
    parser = standalone.ReplyParser(OUT)
    result = None
    for i in range(len(data)):
        assert result is None
        assert parser.needed() >= 1
        result = parser.feed(data[i : i + 1])
    assert result.repeat == 4
    assert (result.total_seconds, result.fastest_seconds, result.mean_seconds) == (
        0.5,
        0.125,
        0.125,
    )
    np.testing.assert_array_equal(result.outputs["y"], [[1.5, -2.0]])


def test_reply_with_model_failure_raises_without_body() -> None:
    parser = standalone.ReplyParser(OUT)
    with pytest.raises(standalone.StandaloneError, match="status -1"):
        parser.feed(_reply(-1, 1))


def test_reply_refusing_repeat_raises() -> None:
    with pytest.raises(standalone.StandaloneError, match="refused repeat"):
        standalone.ReplyParser(OUT).feed(_reply(standalone.STATUS_BAD_REPEAT, 0))


class _Loopback:
    """A transport whose device answers every request with a fixed reply, in small pieces."""

    def __init__(self, reply: bytes) -> None:
        self.sent = b""
        self._pending = b""
        self._reply = reply

    def write(self, data: bytes, timeout_sec: float | None) -> None:
        self.sent += data
        self._pending += self._reply

    def read(self, n: int, timeout_sec: float | None) -> bytes:
        piece, self._pending = self._pending[: min(n, 5)], self._pending[min(n, 5) :]
        return piece


def test_runner_checks_inputs_and_round_trips() -> None:
    ins = [TensorLayout("x", np.dtype("int8"), (3,))]
    link = _Loopback(_reply(0, 2, np.zeros(2, np.float32).tobytes()))
    runner = standalone.StandaloneRunner(link, ins, OUT)
    result = runner.run({"x": np.array([1, 2, 3], dtype=np.int8)}, repeat=2)
    assert link.sent == b"PAR1\x02\x00\x00\x00\x01\x02\x03"
    assert result.outputs["y"].shape == (1, 2)
    with pytest.raises(InputError, match="must be int8"):
        runner.run({"x": np.zeros(3, dtype=np.float32)})
    with pytest.raises(InputError, match="no value for input 'x'"):
        runner.run({})


class _Failing:
    """A transport whose read fails the way a dead or silent program makes it fail."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def write(self, data: bytes, timeout_sec: float | None) -> None:
        pass

    def read(self, n: int, timeout_sec: float | None) -> bytes:
        raise self._error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (server.TransportClosedError(), "closed its transport"),
        (server.IoTimeoutError(), "no reply"),
    ],
)
def test_runner_turns_transport_failures_into_clear_errors(error, message) -> None:
    runner = standalone.StandaloneRunner(_Failing(error), [], OUT, timeout_sec=1.0)
    with pytest.raises(standalone.StandaloneError, match=message):
        runner.run({})
