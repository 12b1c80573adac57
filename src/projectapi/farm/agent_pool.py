"""The driver's view of the qualifying boards: which are free, which are gone.

Each board runs one job at a time. ``acquire`` waits for a free one; a board whose agent died
(its node went away) is ``lost`` and its job goes to another; a broken one is set aside. When
none is left the waiting jobs fail at once with a message instead of waiting forever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from projectapi.farm.errors import NoBoardError

A = TypeVar("A")


class AgentPool(Generic[A]):
    """Free / busy / gone bookkeeping over any agent objects."""

    def __init__(self, agents: Sequence[A], describe: Callable[[A], str] = str) -> None:
        """Every agent starts free."""
        self._free: list[A] = list(agents)
        self._busy: list[A] = []
        self._gone: list[str] = []
        self._describe = describe
        self._changed = threading.Condition()

    def acquire(self) -> A:
        """A free agent, waiting for one; NoBoardError when no usable agent is left."""
        with self._changed:
            while not self._free:
                if not self._busy:
                    gone = "; ".join(self._gone) or "none"
                    raise NoBoardError(f"no qualifying board is left (lost or broken: {gone})")
                self._changed.wait()
            agent = self._free.pop(0)
            self._busy.append(agent)
            return agent

    def release(self, agent: A, *, broken: bool = False) -> None:
        """``agent`` finished its job; a broken one takes no more."""
        self._drop(agent, "broken" if broken else None)

    def lost(self, agent: A) -> None:
        """``agent`` is unreachable (its process or node died)."""
        self._drop(agent, "lost")

    def usable(self) -> int:
        """Agents free or busy."""
        with self._changed:
            return len(self._free) + len(self._busy)

    def _drop(self, agent: A, why: str | None) -> None:
        with self._changed:
            self._busy.remove(agent)
            if why is None:
                self._free.append(agent)
            else:
                self._gone.append(f"{self._describe(agent)} {why}")
            self._changed.notify_all()
