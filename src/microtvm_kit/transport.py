"""The one transport contract: how bytes move between the host and a device, and when they stop.

Every transport (a child's pipes, QEMU's UART socket, the Project API calls on the host, a
serial port) has the same four methods, with the same meaning of ``timeout_sec`` (seconds):

- ``None``: wait as long as it takes;
- ``0``: do not wait: take or give only what the channel can take or give right now;
- a positive number: wait at most that long.

``read(n, timeout_sec)`` returns 1 to ``n`` bytes as soon as any are available; it never returns
an empty ``bytes``. ``write(data, timeout_sec)`` returns once every byte of ``data`` is handed to
the channel. When the time runs out both raise ``IoTimeoutError`` (a write may then have sent
part of ``data``); when the other end is gone (EOF, a closed pipe or socket, a device that
exited) or the transport is not open, both raise ``TransportClosedError``. ``open()`` may return
the ``TransportTimeouts`` a session should use; ``close()`` on a closed transport does nothing.

``PolledTransport`` runs the one deadline loop for channels that can say "ready" (anything
``select`` can wait on); a subclass says only how to try once and how to wait.
"""

from __future__ import annotations

import abc
import math
import os
import select
import time

from .errors import IoTimeoutError, TransportClosedError


def check_timeout(timeout_sec: float | None) -> None:
    """Refuse a timeout that is not None or a number >= 0 (ValueError)."""
    if timeout_sec is not None and not (isinstance(timeout_sec, (int, float)) and timeout_sec >= 0):
        raise ValueError("timeout must be None or a number >= 0 seconds, got %r" % (timeout_sec,))


class Deadline:
    """The moment a timeout of the contract (None, 0 or seconds) runs out, from now."""

    __slots__ = ("end",)

    def __init__(self, timeout_sec: float | None) -> None:
        check_timeout(timeout_sec)
        self.end = None if timeout_sec is None else time.monotonic() + timeout_sec

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None when there is no limit."""
        return None if self.end is None else max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        """True once the time is up (never for no limit)."""
        return self.end is not None and time.monotonic() >= self.end


def no_limit_from_inf(seconds: float | None) -> float | None:
    """A timeout where infinity means no limit, in the contract's form (None)."""
    return None if seconds is None or math.isinf(seconds) else seconds


class Transport(abc.ABC):
    """A byte channel to a device; see the module docstring for the contract."""

    @abc.abstractmethod
    def open(self) -> object:
        """Open the channel; may return the TransportTimeouts a session should use."""

    @abc.abstractmethod
    def close(self) -> object:
        """Close the channel; closing a closed transport does nothing."""

    @abc.abstractmethod
    def read(self, n: int, timeout_sec: float | None) -> bytes:
        """Return 1 to ``n`` bytes, waiting at most ``timeout_sec``."""

    @abc.abstractmethod
    def write(self, data: bytes, timeout_sec: float | None) -> None:
        """Hand every byte of ``data`` to the channel, waiting at most ``timeout_sec``."""

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PolledTransport(Transport):
    """A transport over a channel that can be waited on; this class runs the deadline loop.

    A subclass implements ``_wait_ready`` (wait until the channel can be read or written),
    ``_read_ready`` and ``_write_ready`` (one attempt, after the channel said it was ready).
    """

    def read(self, n: int, timeout_sec: float | None) -> bytes:
        """Return 1 to ``n`` bytes as soon as any are available (contract in the module)."""
        if n < 1:
            raise ValueError("read size must be at least 1 byte, got %d" % n)
        deadline = Deadline(timeout_sec)
        while True:
            self._await(False, deadline)
            data = self._read_ready(n)
            if data:
                return data

    def write(self, data: bytes, timeout_sec: float | None) -> None:
        """Hand every byte of ``data`` to the channel (contract in the module)."""
        deadline = Deadline(timeout_sec)
        view = memoryview(data)
        while view:
            self._await(True, deadline)
            view = view[self._write_ready(view) :]

    def _await(self, for_write: bool, deadline: Deadline) -> None:
        """Return when the channel is ready; IoTimeoutError once ``deadline`` passed.

        The channel is always asked at least once, so a timeout of 0 takes what is ready now.
        """
        while not self._wait_ready(for_write, deadline.remaining()):
            if deadline.expired():
                raise IoTimeoutError()

    @abc.abstractmethod
    def _wait_ready(self, for_write: bool, timeout: float | None) -> bool:
        """Wait at most ``timeout`` (None: no limit) until readable/writable; True if it is.

        Ready includes "the other end closed": the next attempt then raises.
        """

    @abc.abstractmethod
    def _read_ready(self, n: int) -> bytes:
        """Up to ``n`` bytes now; b"" if none after all; TransportClosedError at EOF."""

    @abc.abstractmethod
    def _write_ready(self, data: memoryview) -> int:
        """Write a prefix of ``data`` now; its length (0 if none); TransportClosedError if gone."""


class FdTransport(PolledTransport):
    """Two file descriptors (pipe ends, a tty) as a transport; their owner opens and closes them.

    A blocking ``write_fd`` is written ``PIPE_BUF`` bytes at a time (what a pipe said to be
    writable takes without blocking), a non-blocking one as much as it takes.
    """

    def __init__(self, read_fd: int | None = None, write_fd: int | None = None) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd

    def open(self) -> None:
        """Nothing to do: the descriptors are open already."""

    def close(self) -> None:
        """Forget the descriptors (their owner closes them)."""
        self.read_fd = self.write_fd = None

    def _fd(self, for_write: bool) -> int:
        fd = self.write_fd if for_write else self.read_fd
        if fd is None:
            raise TransportClosedError()
        return fd

    def _wait_ready(self, for_write: bool, timeout: float | None) -> bool:
        fd = self._fd(for_write)
        if for_write:
            return any(select.select([], [fd], [fd], timeout))
        return any(select.select([fd], [], [fd], timeout))

    def _read_ready(self, n: int) -> bytes:
        try:
            data = os.read(self._fd(False), n)
        except BlockingIOError:
            return b""
        except OSError as exc:
            raise TransportClosedError(data={"reason": str(exc)}) from exc
        if not data:
            raise TransportClosedError()
        return data

    def _write_ready(self, data: memoryview) -> int:
        fd = self._fd(True)
        step = len(data) if not os.get_blocking(fd) else getattr(select, "PIPE_BUF", 512)
        try:
            return os.write(fd, data[:step])
        except BlockingIOError:
            return 0
        except OSError as exc:
            raise TransportClosedError(data={"reason": str(exc)}) from exc


def read_with_timeout(fd: int, n: int, timeout_sec: float | None) -> bytes:
    """Read 1..n bytes from ``fd`` within ``timeout_sec`` (the transport contract)."""
    return FdTransport(read_fd=fd).read(n, timeout_sec)


def write_with_timeout(fd: int, data: bytes, timeout_sec: float | None) -> int:
    """Write all of ``data`` to ``fd`` within ``timeout_sec`` (the contract); return its length."""
    FdTransport(write_fd=fd).write(data, timeout_sec)
    return len(data)
