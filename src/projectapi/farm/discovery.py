"""The boards of a farm as the driver finds them: every live agent, described by itself."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from projectapi.farm.agent import AGENT_PREFIX
from projectapi.farm.selection import BoardInfo

ASK_SECONDS = 10.0


@dataclass(frozen=True)
class Agent:
    """A board agent's handle and what it said about itself."""

    handle: Any
    info: BoardInfo

    def describe(self) -> str:
        """For messages."""
        return self.info.describe()


def agent_handles(ray: ModuleType) -> list[Any]:
    """Handles of the named board agents of the farm (live or not)."""
    names = [name for name in ray.util.list_named_actors() if name.startswith(AGENT_PREFIX)]
    handles = []
    for name in sorted(names):
        try:
            handles.append(ray.get_actor(name))
        except ValueError:  # ended since it was listed
            continue
    return handles


def ask_all(ray: ModuleType, calls: dict[Any, Any]) -> dict[Any, Any]:
    """Results of the calls ``{key: object ref}`` that answer within ASK_SECONDS."""
    ready, _ = ray.wait(list(calls.values()), num_returns=len(calls), timeout=ASK_SECONDS)
    answered = {}
    for key, ref in calls.items():
        if ref in ready:
            try:
                answered[key] = ray.get(ref)
            except ray.exceptions.RayError:
                continue
    return answered


def find_agents(ray: ModuleType) -> list[Agent]:
    """Every live board agent, in name order."""
    handles = agent_handles(ray)
    if not handles:
        return []
    infos = ask_all(ray, {index: h.describe.remote() for index, h in enumerate(handles)})
    return [Agent(handles[i], infos[i]) for i in sorted(infos)]


def board_states(ray: ModuleType) -> list[dict[str, Any]]:
    """Each live agent's status (board, node, state, work done), in name order."""
    handles = agent_handles(ray)
    if not handles:
        return []
    states = ask_all(ray, {index: h.status.remote() for index, h in enumerate(handles)})
    return [states[i] for i in sorted(states)]
