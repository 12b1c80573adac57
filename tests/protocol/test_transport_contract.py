"""The one transport contract (microtvm_kit.transport) on real pipes: None, 0 and a number."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import pytest

from microtvm_kit import errors
from microtvm_kit.transport import Deadline, FdTransport


@pytest.fixture
def pipe_transport():
    """An FdTransport reading one pipe and writing another, plus the far ends of both."""
    read_fd, far_write = os.pipe()
    far_read, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    yield FdTransport(read_fd, write_fd), far_read, far_write
    for fd in (read_fd, far_write, far_read, write_fd):
        with contextlib.suppress(OSError):  # a test closed it
            os.close(fd)


def test_zero_takes_what_is_ready_and_times_out_when_nothing_is(pipe_transport) -> None:
    transport, _, far_write = pipe_transport
    with pytest.raises(errors.IoTimeoutError):
        transport.read(10, 0)
    os.write(far_write, b"ab")
    assert transport.read(10, 0) == b"ab"


def test_none_waits_as_long_as_it_takes(pipe_transport) -> None:
    transport, _, far_write = pipe_transport
    threading.Timer(0.3, os.write, (far_write, b"late")).start()
    start = time.monotonic()
    assert transport.read(10, None) == b"late"
    assert time.monotonic() - start >= 0.25


def test_a_number_waits_at_most_that_long(pipe_transport) -> None:
    transport, _, _ = pipe_transport
    start = time.monotonic()
    with pytest.raises(errors.IoTimeoutError):
        transport.read(1, 0.2)
    assert 0.15 <= time.monotonic() - start < 2.0


def test_write_hands_over_every_byte_or_times_out(pipe_transport) -> None:
    transport, far_read, _ = pipe_transport
    transport.write(b"x" * 1000, 1.0)
    assert os.read(far_read, 2000) == b"x" * 1000
    with pytest.raises(errors.IoTimeoutError):
        transport.write(b"y" * (1 << 20), 0.2)  # nobody reads: the pipe fills


def test_a_gone_peer_or_a_closed_transport_is_transport_closed(pipe_transport) -> None:
    transport, far_read, far_write = pipe_transport
    os.close(far_write)
    with pytest.raises(errors.TransportClosedError):
        transport.read(1, 1.0)
    os.close(far_read)
    with pytest.raises(errors.TransportClosedError):
        transport.write(b"z", 1.0)
    transport.close()
    with pytest.raises(errors.TransportClosedError):
        transport.read(1, 0)


@pytest.mark.parametrize("timeout", [-1, float("nan"), "1"])
def test_a_timeout_outside_the_contract_is_refused(pipe_transport, timeout) -> None:
    transport, _, _ = pipe_transport
    with pytest.raises(ValueError, match="timeout must be None or a number >= 0"):
        transport.read(1, timeout)
    with pytest.raises(ValueError, match="read size must be at least 1"):
        transport.read(0, 1.0)


def test_deadline_none_never_expires_and_zero_is_expired_at_once() -> None:
    assert Deadline(None).remaining() is None and not Deadline(None).expired()
    assert Deadline(0).remaining() == 0.0 and Deadline(0).expired()
