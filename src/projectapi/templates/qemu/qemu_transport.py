"""A QEMU process and its emulated UART (over TCP) as a Project API transport.

``open`` listens on a port of 127.0.0.1 the kernel picks and starts QEMU with the UART on
``-serial tcp:127.0.0.1:PORT``: QEMU connects while it starts, before the machine runs, so the
firmware's first byte is never lost and no other process can take the port. ``close`` disconnects and stops QEMU (SIGTERM, then SIGKILL), and reaps it. On Linux
QEMU also dies with the server process (PR_SET_PDEATHSIG), so even a killed server leaves no
emulator behind.

``read`` and ``write`` follow the transport contract of ``microtvm_kit.transport``; when QEMU
has exited or closed the UART they raise ``TransportClosedError`` with QEMU's exit status and
stderr (QEMU loads the image after connecting, so that is also how an image it cannot load
shows). ``open`` raises ``QemuStartError`` (a ``TransportOpenError``) with QEMU's stderr.
"""

import contextlib
import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Callable, List, Optional

from microtvm_kit import errors
from microtvm_kit.transport import PolledTransport

# QEMU connects within ~30 ms here; allow for a loaded machine, never forever.
CONNECT_TIMEOUT_SEC = 10.0
_CONNECT_POLL_SEC = 0.01
# After SIGTERM QEMU exits at once; SIGKILL follows if it has not within this grace.
_EXIT_GRACE_SEC = 2.0
_MAX_READ_CHUNK = 1 << 16
_STDERR_TAIL_BYTES = 2000
_PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)


class QemuStartError(errors.TransportOpenError):
    """QEMU did not start or did not connect its UART; the message holds its stderr."""


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGKILL it when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class QemuTransport(PolledTransport):
    """Run QEMU for one session and carry bytes to and from its first UART."""

    def __init__(self, command_for_serial: Callable[[str], List[str]]) -> None:
        """``command_for_serial(serial_spec)`` gives QEMU's argv for a ``-serial`` backend."""
        self._command_for_serial = command_for_serial
        self._proc = None  # type: Optional[subprocess.Popen]
        self._sock = None  # type: Optional[socket.socket]
        self._stderr = None  # type: Optional[tempfile._TemporaryFileWrapper]

    @property
    def is_open(self) -> bool:
        """True between a successful ``open`` and ``close``."""
        return self._sock is not None

    @property
    def pid(self) -> Optional[int]:
        """QEMU's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def open(self, timeout_sec: float = CONNECT_TIMEOUT_SEC) -> None:
        """Start QEMU and connect its UART to us; on any failure nothing is left running."""
        if self._proc is not None:
            raise QemuStartError("transport is already open; close it first")
        # We listen on a port the kernel picks (no race for a "free" port) and QEMU connects to
        # it while it starts, before the machine runs. nodelay: QEMU writes the UART's bytes one
        # by one; without it Nagle's algorithm meets delayed ACKs and every reply waits ~40 ms.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            port = listener.getsockname()[1]
            argv = self._command_for_serial("tcp:127.0.0.1:{},nodelay=on".format(port))
            # QEMU's output, kept for error messages; lives until close().
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
            try:
                self._proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=self._stderr,
                    stderr=self._stderr,
                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                )
            except OSError as error:
                self.close()
                raise QemuStartError("cannot run {}: {}".format(argv[0], error)) from None
            try:
                self._sock = self._accept(listener, timeout_sec)
            except BaseException:
                self.close()
                raise

    def _accept(self, listener: socket.socket, timeout_sec: float) -> socket.socket:
        """QEMU's connection to ``listener``, watching QEMU while waiting for it."""
        deadline = time.monotonic() + timeout_sec
        while not select.select([listener], [], [], _CONNECT_POLL_SEC)[0]:
            if self._proc.poll() is not None:
                raise self._start_error(
                    "QEMU exited with status {} before connecting its UART".format(
                        self._proc.returncode
                    )
                )
            if time.monotonic() > deadline:
                raise self._start_error(
                    "QEMU did not connect its UART within {:.0f} s".format(timeout_sec)
                )
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        return sock

    def _start_error(self, what: str) -> QemuStartError:
        return QemuStartError("{}: {}".format(what, self.stderr_tail() or "(no output)"))

    def stderr_tail(self) -> str:
        """The end of what QEMU wrote to stdout/stderr so far."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - _STDERR_TAIL_BYTES))
        return self._stderr.read().decode("utf-8", "replace").strip()

    def _read_ready(self, n: int) -> bytes:
        try:
            data = self._live_socket().recv(min(n, _MAX_READ_CHUNK))
        except BlockingIOError:
            return b""
        except OSError:
            data = b""
        if not data:
            raise self._closed_error()
        return data

    def _write_ready(self, data: memoryview) -> int:
        try:
            return self._live_socket().send(data)
        except BlockingIOError:
            return 0
        except OSError:
            raise self._closed_error() from None

    def close(self) -> Optional[int]:
        """Disconnect, stop and reap QEMU; return its exit status (None if it was not running)."""
        sock, self._sock = self._sock, None
        proc, self._proc = self._proc, None
        if sock is not None:
            sock.close()
        status = None
        if proc is not None:
            status = proc.poll()
            if status is None:
                proc.terminate()
                try:
                    status = proc.wait(_EXIT_GRACE_SEC)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    status = proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        return status

    def _live_socket(self) -> socket.socket:
        if self._sock is None:
            raise errors.TransportClosedError("the QEMU transport is not open")
        return self._sock

    def _closed_error(self) -> errors.TransportClosedError:
        status = None
        # A closed UART usually means QEMU is exiting: give it a moment to say how.
        with contextlib.suppress(subprocess.TimeoutExpired):
            status = self._proc.wait(_EXIT_GRACE_SEC) if self._proc is not None else None
        if status is None:
            what = "QEMU closed the UART connection"
        else:
            what = "QEMU exited with status {}".format(status)
        tail = self.stderr_tail()
        return errors.TransportClosedError(what + (": " + tail if tail else ""))

    def _wait_ready(self, for_write: bool, timeout: Optional[float]) -> bool:
        """Wait until the UART is ready (True), or ``timeout`` passes (False); watch QEMU."""
        sock = self._live_socket()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # Wake at least once a second to notice QEMU exiting without closing the socket.
            wait = 1.0 if deadline is None else min(max(0.0, deadline - time.monotonic()), 1.0)
            readable, writable, _ = select.select(
                [] if for_write else [sock], [sock] if for_write else [], [], wait
            )
            if readable or writable:
                return True
            if self._proc is not None and self._proc.poll() is not None:
                raise self._closed_error()
            if deadline is not None and time.monotonic() >= deadline:
                return False
