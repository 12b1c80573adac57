"""Stop a server whose client is gone, even in the middle of a request, and on SIGTERM.

Standard library only, Python 3.8+.
"""

from __future__ import annotations

import select
import signal
import threading
import time

# After the request pipe hangs up, how long an idle server gets to read EOF and exit by itself
# before a request still running is interrupted.
_CLIENT_GONE_GRACE_SEC = 0.2


class ClientWatch:
    """Interrupts a request still running when the client is gone; makes SIGTERM an exit.

    A thread waits for the request pipe to hang up (every writer closed it: the client exited,
    was killed, or closed the pipe). An idle server then reads EOF and returns on its own; a
    request still running (a long read from a device, a build) is interrupted with SIGTERM
    to the main thread, whose handler raises SystemExit so ``finally`` blocks clean up (child
    processes, half-made project directories). POSIX only; elsewhere a no-op.
    """

    def __init__(self, read_fd: int) -> None:
        self.serving = (
            hasattr(select, "poll")
            and hasattr(signal, "pthread_kill")
            and threading.current_thread() is threading.main_thread()
        )
        if not self.serving:
            return
        self._main = threading.get_ident()
        self._lock = threading.Lock()
        signal.signal(signal.SIGTERM, self._exit_on_sigterm)
        threading.Thread(target=self._wait_for_hangup, args=(read_fd,), daemon=True).start()

    def stop(self) -> None:
        """Serving ended: a late hangup or SIGTERM no longer interrupts the clean-up."""
        if self.serving:
            with self._lock:
                self.serving = False

    def _exit_on_sigterm(self, signum: int, frame: object) -> None:
        if self.serving:
            raise SystemExit(128 + signum)

    def _wait_for_hangup(self, read_fd: int) -> None:
        poller = select.poll()
        poller.register(read_fd, 0)  # POLLHUP and POLLERR are reported without asking
        try:
            while not poller.poll():
                pass
        except OSError:
            return
        time.sleep(_CLIENT_GONE_GRACE_SEC)
        with self._lock:
            if self.serving:
                signal.pthread_kill(self._main, signal.SIGTERM)
