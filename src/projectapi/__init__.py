"""projectapi: a standalone implementation of the microTVM Project API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from projectapi.micro import Session

__version__ = "0.1.0"

__all__ = ["Session", "__version__"]


def __getattr__(name: str) -> Any:
    """Import ``Session`` (and numpy with it) only when first used, keeping the import cheap."""
    if name == "Session":
        from projectapi.micro import Session

        return Session
    raise AttributeError(f"module 'projectapi' has no attribute {name!r}")
