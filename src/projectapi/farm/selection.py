"""Which boards of the farm may run a job: pure functions over what the agents report."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from projectapi.farm.errors import NoBoardError


@dataclass(frozen=True)
class BoardInfo:
    """One board agent of the farm: which board, with what, on which node."""

    agent: str  # the agent's unique name in the cluster
    name: str  # the board's name in its inventory
    kind: str  # e.g. mps2-an386
    template: str
    node: str  # Ray node id (hex)
    host: str  # the node's address
    options: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()

    def describe(self) -> str:
        """``name (kind, template, labels) on host`` for messages."""
        labels = f", labels {','.join(self.labels)}" if self.labels else ""
        return f"{self.name} ({self.kind}, {self.template}{labels}) on {self.host}"


@dataclass(frozen=True)
class Requirement:
    """What a job needs: a template, options every board must agree with, labels it must carry."""

    template: str
    options: Mapping[str, Any]
    labels: tuple[str, ...] = ()

    def describe(self) -> str:
        """The requirement in words, for messages."""
        parts = [f"template {_template_name(self.template)}"]
        if self.options.get("board"):
            parts.append(f"board={self.options['board']}")
        parts += [f"label {label}" for label in self.labels]
        return ", ".join(parts)


def _template_name(template: str) -> str:
    return pathlib.PurePath(template).name


def _same(a: Any, b: Any) -> bool:
    return a == b or str(a) == str(b)


def conflicts(board: BoardInfo, requirement: Requirement) -> list[str]:
    """The option keys on which ``board`` and the job disagree (``board`` compared as kind)."""
    wanted = dict(requirement.options)
    keys = [k for k in wanted if k in board.options and not _same(wanted[k], board.options[k])]
    if wanted.get("board") and not _same(wanted["board"], board.kind) and "board" not in keys:
        keys.append("board")
    return keys


def qualifies(board: BoardInfo, requirement: Requirement) -> bool:
    """Same template, no option in conflict, every label asked for."""
    return (
        _template_name(board.template) == _template_name(requirement.template)
        and not conflicts(board, requirement)
        and set(requirement.labels) <= set(board.labels)
    )


def select(boards: Sequence[BoardInfo], requirement: Requirement) -> list[BoardInfo]:
    """The boards that qualify; none is a NoBoardError listing every board there is."""
    chosen = [board for board in boards if qualifies(board, requirement)]
    if chosen:
        return chosen
    listing = "; ".join(board.describe() for board in boards) or "none (no board has joined)"
    raise NoBoardError(
        f"no board of the farm qualifies for {requirement.describe()}. Boards: {listing}"
    )


def board_kind(boards: Sequence[BoardInfo], requirement: Requirement) -> str:
    """The one kind of board projects are built for: asked with ``-o board=``, or the only one."""
    if requirement.options.get("board"):
        return str(requirement.options["board"])
    kinds = sorted({board.kind for board in boards})
    if len(kinds) > 1:
        raise NoBoardError(
            f"boards of {len(kinds)} kinds qualify ({', '.join(kinds)}); choose one with "
            f"-o board=KIND"
        )
    return kinds[0]


def board_options(board: BoardInfo, job_options: Mapping[str, Any]) -> dict[str, Any]:
    """The options a board runs a job with: the job's, plus what its inventory says."""
    return {**dict(job_options), **board.options}


def shared_options(boards: Sequence[BoardInfo], job_options: Mapping[str, Any]) -> dict[str, Any]:
    """What projects are generated and built with: the job's options plus those every
    qualifying board's inventory agrees on (a serial number or port stays with its board)."""
    shared = dict(job_options)
    first = boards[0].options if boards else {}
    for key, value in first.items():
        if all(key in b.options and _same(b.options[key], value) for b in boards):
            shared.setdefault(key, value)
    return shared
