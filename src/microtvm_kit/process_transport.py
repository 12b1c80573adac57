"""A child process's stdin and stdout as a Project API transport with honest timeouts.

``read`` and ``write`` use the timeout contract of ``server.read_with_timeout`` and
``server.write_with_timeout`` (None waits without limit): a read returns 1 to ``n`` bytes as soon
as any are available, a write returns once every byte is in the pipe. When the time runs out they
raise ``server.IoTimeoutError`` (a write may then have sent part of the data); when the child has
closed its end of a pipe or exited, or the transport is not open, ``server.TransportClosedError``.
POSIX only (``select`` on pipes).
"""

import os
import subprocess
from typing import List, Optional, Sequence

from microtvm_kit import server

# close() first closes both pipes, which makes a well-behaved child exit on its own; it waits this
# long for that, then sends SIGTERM and waits as long again, then sends SIGKILL.
_EXIT_GRACE_SEC = 2.0


class ProcessTransport:
    """Carry transport bytes to a child's stdin and from its stdout; the child's stderr is ours."""

    def __init__(self, argv: Sequence[str], cwd: Optional[str] = None) -> None:
        """Remember how to start the child; ``open`` starts it."""
        self._argv: List[str] = list(argv)
        self._cwd = cwd
        self._proc: Optional[subprocess.Popen] = None

    def open(self) -> None:
        """Start the child with non-blocking pipes (RuntimeError if open or it cannot start)."""
        if self._proc is not None:
            raise RuntimeError("transport is already open; close it first")
        try:
            proc = subprocess.Popen(
                self._argv, cwd=self._cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
            )
        except OSError as error:
            raise RuntimeError(
                "cannot start {}: {}".format(self._argv[0], error.strerror or error)
            ) from error
        os.set_blocking(proc.stdin.fileno(), False)
        os.set_blocking(proc.stdout.fileno(), False)
        self._proc = proc

    def read(self, n: int, timeout_sec: Optional[float]) -> bytes:
        """Return 1 to ``n`` bytes from the child's stdout, waiting at most ``timeout_sec``."""
        return server.read_with_timeout(self._live_proc().stdout.fileno(), n, timeout_sec)

    def write(self, data: bytes, timeout_sec: Optional[float]) -> None:
        """Put all of ``data`` into the child's stdin, waiting at most ``timeout_sec``."""
        server.write_with_timeout(self._live_proc().stdin.fileno(), data, timeout_sec)

    def close(self) -> Optional[int]:
        """Close the pipes, make sure the child is gone and reaped; return its exit code.

        Closing an already closed transport does nothing and returns None.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        proc.stdin.close()
        proc.stdout.close()
        for stop in (lambda: None, proc.terminate):
            stop()
            try:
                return proc.wait(_EXIT_GRACE_SEC)
            except subprocess.TimeoutExpired:
                pass
        proc.kill()
        return proc.wait()

    def _live_proc(self) -> subprocess.Popen:
        """The running child, or TransportClosedError if the transport is not open."""
        if self._proc is None:
            raise server.TransportClosedError()
        return self._proc
