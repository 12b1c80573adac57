"""The farm's errors: each names what to fix (an address, a token, a file, a board)."""

from __future__ import annotations

from projectapi.errors import ProjectAPIError


class FarmError(ProjectAPIError):
    """The farm cannot do what was asked (unreachable, refused, no such board...)."""


class InventoryError(FarmError):
    """A board inventory file is unreadable or wrong; the message names file, board and key."""


class NoBoardError(FarmError):
    """No board of the farm qualifies for a job; the message lists the boards that exist."""
