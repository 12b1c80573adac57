"""A child process's stdin and stdout as a transport (the contract of ``microtvm_kit.transport``).

``open`` starts the child with non-blocking pipes; reads and writes follow the transport
contract (a closed pipe or an exited child is ``TransportClosedError``); ``close`` closes the
pipes and makes sure the child is gone and reaped. POSIX only (``select`` on pipes).
"""

from __future__ import annotations

import os
import subprocess
from typing import List, Optional, Sequence

from .errors import TransportOpenError
from .transport import FdTransport

# close() first closes both pipes, which makes a well-behaved child exit on its own; it waits this
# long for that, then sends SIGTERM and waits as long again, then sends SIGKILL.
_EXIT_GRACE_SEC = 2.0


class ProcessTransport(FdTransport):
    """Carry transport bytes to a child's stdin and from its stdout; the child's stderr is ours."""

    def __init__(self, argv: Sequence[str], cwd: Optional[str] = None) -> None:
        """Remember how to start the child; ``open`` starts it."""
        super().__init__()
        self._argv: List[str] = list(argv)
        self._cwd = cwd
        self._proc: Optional[subprocess.Popen] = None

    def open(self) -> None:
        """Start the child (TransportOpenError if it is open already or cannot start)."""
        if self._proc is not None:
            raise TransportOpenError("transport is already open; close it first")
        try:
            proc = subprocess.Popen(
                self._argv, cwd=self._cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
            )
        except OSError as error:
            raise TransportOpenError(
                "cannot start {}: {}".format(self._argv[0], error.strerror or error)
            ) from error
        os.set_blocking(proc.stdin.fileno(), False)
        os.set_blocking(proc.stdout.fileno(), False)
        self._proc = proc
        self.read_fd = proc.stdout.fileno()
        self.write_fd = proc.stdin.fileno()

    def close(self) -> Optional[int]:
        """Close the pipes, make sure the child is gone and reaped; return its exit code.

        Closing an already closed transport does nothing and returns None.
        """
        super().close()
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
