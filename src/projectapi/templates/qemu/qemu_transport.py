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
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional

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
_READY_POLL_SEC = 0.002


class QemuStartError(errors.TransportOpenError):
    """QEMU did not start or did not connect its UART; the message holds its stderr."""


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGKILL it when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class UartReadyCheck(NamedTuple):
    """A UART register whose ``mask`` bits the firmware sets once the UART receives. Some UARTs
    (STM32's USART) drop what arrives before: the transports wait for these bits."""

    address: int
    mask: int


class QemuProcess:
    """One QEMU process: started so that it dies with us, its output kept for error messages,
    stopped and reaped on ``stop``. Shared by the socket and the pseudo-terminal transports."""

    def __init__(self, argv: List[str], stdio: bool = False) -> None:
        """``stdio``: give QEMU pipes for stdin and stdout (its QMP monitor, ``-qmp stdio``);
        else only its output is kept, together with stderr."""
        self.argv = argv
        self._stdio = stdio
        self.proc = None  # type: Optional[subprocess.Popen]
        self._stderr = None  # type: Optional[tempfile._TemporaryFileWrapper]
        self._monitor_output = b""  # read from the QMP monitor (stdout), not consumed yet

    @property
    def pid(self) -> Optional[int]:
        """QEMU's process id while it runs."""
        return self.proc.pid if self.proc is not None else None

    def wait_until_ready(self, ready: UartReadyCheck, deadline: float) -> None:
        """Poll the UART register through the monitor until the firmware has set its bits."""
        command = {
            "execute": "human-monitor-command",
            "arguments": {"command-line": "xp /1wx 0x{:x}".format(ready.address)},
        }
        while int(self.qmp(command, deadline).rsplit(":", 1)[1], 16) & ready.mask != ready.mask:
            time.sleep(_READY_POLL_SEC)

    def qmp(self, command: Dict[str, Any], deadline: float) -> Any:
        """Send one QMP command, return its result (events before it are skipped)."""
        stdin = self.proc.stdin
        stdin.write(json.dumps(command).encode() + b"\n")
        stdin.flush()
        while True:
            line = self.read_monitor(re.compile(rb"^(.*)\n", re.M), deadline).group(1)
            reply = json.loads(line) if line.startswith(b"{") else {}
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise self.start_error("QEMU refused {}: {}".format(command, reply["error"]))

    def read_monitor(self, pattern: "re.Pattern[bytes]", deadline: float) -> "re.Match[bytes]":
        """Read QEMU's monitor output until ``pattern`` matches it, QEMU exits or time is up;
        consume the output up to the end of the match."""
        fd = self.proc.stdout.fileno()
        while True:
            match = pattern.search(self._monitor_output)
            if match:
                self._monitor_output = self._monitor_output[match.end() :]
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise self.start_error("QEMU did not set up its UART in time")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.proc.wait()
                    raise self.start_error(
                        "QEMU exited with status {} while starting".format(self.proc.returncode)
                    )
                self._monitor_output += chunk

    def start(self) -> None:
        """Start QEMU (QemuStartError if it cannot be run)."""
        # QEMU's output, kept for error messages; lives until stop().
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE if self._stdio else subprocess.DEVNULL,
                stdout=subprocess.PIPE if self._stdio else self._stderr,
                stderr=self._stderr,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        except OSError as error:
            self.stop()
            raise QemuStartError("cannot run {}: {}".format(self.argv[0], error)) from None

    def exited(self) -> bool:
        """True once QEMU has exited."""
        return self.proc is not None and self.proc.poll() is not None

    def start_error(self, what: str) -> QemuStartError:
        """A QemuStartError saying ``what`` went wrong, with QEMU's output."""
        return QemuStartError("{}: {}".format(what, self.stderr_tail() or "(no output)"))

    def stderr_tail(self) -> str:
        """The end of what QEMU wrote to stderr (and stdout, unless piped) so far."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - _STDERR_TAIL_BYTES))
        return self._stderr.read().decode("utf-8", "replace").strip()

    def closed_error(self, link: str) -> errors.TransportClosedError:
        """TransportClosedError for a ``link`` that closed: QEMU's exit status and output."""
        status = None
        # A closed link usually means QEMU is exiting: give it a moment to say how.
        with contextlib.suppress(subprocess.TimeoutExpired):
            status = self.proc.wait(_EXIT_GRACE_SEC) if self.proc is not None else None
        if status is None:
            what = "QEMU closed the {}".format(link)
        else:
            what = "QEMU exited with status {}".format(status)
        tail = self.stderr_tail()
        return errors.TransportClosedError(what + (": " + tail if tail else ""))

    def stop(self) -> Optional[int]:
        """Stop (SIGTERM, then SIGKILL) and reap QEMU; its exit status (None if not running)."""
        proc, self.proc = self.proc, None
        status = None
        if proc is not None:
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
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


class QemuTransport(PolledTransport):
    """Run QEMU for one session and carry bytes to and from its first UART."""

    def __init__(
        self,
        command_for_serial: Callable[[str], List[str]],
        ready: Optional[UartReadyCheck] = None,
    ) -> None:
        """``command_for_serial(serial_spec)`` gives QEMU's argv for a ``-serial`` backend;
        ``ready``: once connected, wait until the firmware has enabled its UART."""
        self._command_for_serial = command_for_serial
        self._ready = ready
        self._qemu = None  # type: Optional[QemuProcess]
        self._sock = None  # type: Optional[socket.socket]

    @property
    def is_open(self) -> bool:
        """True between a successful ``open`` and ``close``."""
        return self._sock is not None

    @property
    def pid(self) -> Optional[int]:
        """QEMU's process id while it runs."""
        return self._qemu.pid if self._qemu is not None else None

    def open(self, timeout_sec: float = CONNECT_TIMEOUT_SEC) -> None:
        """Start QEMU and connect its UART to us; on any failure nothing is left running."""
        if self._qemu is not None:
            raise QemuStartError("transport is already open; close it first")
        # We listen on a port the kernel picks (no race for a "free" port) and QEMU connects to
        # it while it starts, before the machine runs. nodelay: QEMU writes the UART's bytes one
        # by one; without it Nagle's algorithm meets delayed ACKs and every reply waits ~40 ms.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            port = listener.getsockname()[1]
            argv = self._command_for_serial("tcp:127.0.0.1:{},nodelay=on".format(port))
            monitor = self._ready is not None
            self._qemu = QemuProcess([*argv, "-qmp", "stdio"] if monitor else argv, stdio=monitor)
            try:
                self._qemu.start()
                self._sock = self._accept(listener, timeout_sec)
                if self._ready is not None:
                    deadline = time.monotonic() + timeout_sec
                    self._qemu.qmp({"execute": "qmp_capabilities"}, deadline)
                    self._qemu.wait_until_ready(self._ready, deadline)
            except BaseException:
                self.close()
                raise

    def _accept(self, listener: socket.socket, timeout_sec: float) -> socket.socket:
        """QEMU's connection to ``listener``, watching QEMU while waiting for it."""
        deadline = time.monotonic() + timeout_sec
        while not select.select([listener], [], [], _CONNECT_POLL_SEC)[0]:
            if self._qemu.exited():
                raise self._qemu.start_error(
                    "QEMU exited with status {} before connecting its UART".format(
                        self._qemu.proc.returncode
                    )
                )
            if time.monotonic() > deadline:
                raise self._qemu.start_error(
                    "QEMU did not connect its UART within {:.0f} s".format(timeout_sec)
                )
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        return sock

    def stderr_tail(self) -> str:
        """The end of what QEMU wrote to stdout/stderr so far."""
        return self._qemu.stderr_tail() if self._qemu is not None else ""

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
        qemu, self._qemu = self._qemu, None
        if sock is not None:
            sock.close()
        return qemu.stop() if qemu is not None else None

    def _live_socket(self) -> socket.socket:
        if self._sock is None:
            raise errors.TransportClosedError("the QEMU transport is not open")
        return self._sock

    def _closed_error(self) -> errors.TransportClosedError:
        if self._qemu is None:
            return errors.TransportClosedError("the QEMU transport is not open")
        return self._qemu.closed_error("UART connection")

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
            if self._qemu is not None and self._qemu.exited():
                raise self._closed_error()
            if deadline is not None and time.monotonic() >= deadline:
                return False
