"""A board's state as its agent keeps it: idle, busy or broken, and the work it has done.

Runs that hung, crashed or failed to start count against the board; ``limit`` of them in a row
mark it broken (each such run already restarted its emulator or server), and any good run
clears the count. A broken board takes no more work until its agent is restarted.
"""

from __future__ import annotations

from dataclasses import dataclass

IDLE, BUSY, BROKEN = "idle", "busy", "broken"
BOARD_FAULTS = ("hung", "crashed", "error")
DEFAULT_FAILURE_LIMIT = 3


@dataclass
class BoardHealth:
    """The state machine: ``start`` a job, ``finish`` it with its status."""

    limit: int = DEFAULT_FAILURE_LIMIT
    state: str = IDLE
    done: int = 0
    failed: int = 0
    in_a_row: int = 0

    def start(self) -> None:
        """A job begins; refused when the board is broken or already busy."""
        if self.state != IDLE:
            raise RuntimeError(f"board is {self.state}")
        self.state = BUSY

    def finish(self, status: str) -> None:
        """A job ended with ``status`` (a MeasureResult status)."""
        self.done += 1
        if status in BOARD_FAULTS:
            self.failed += 1
            self.in_a_row += 1
        else:
            self.in_a_row = 0
        self.state = BROKEN if self.in_a_row >= self.limit else IDLE

    def snapshot(self) -> dict[str, int | str]:
        """JSON-ready."""
        return {"state": self.state, "done": self.done, "failed": self.failed}
