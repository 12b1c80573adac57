"""projectapi: a standalone implementation of the microTVM Project API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from projectapi import compile
    from projectapi.micro import Session

__version__ = "0.1.0"

__all__ = ["Session", "__version__", "compile"]


def __getattr__(name: str) -> Any:
    """Import ``Session`` (and numpy with it) and ``compile`` only when first used, keeping the
    import cheap (TVM is imported only when a model is compiled)."""
    if name == "Session":
        from projectapi.micro import Session

        return Session
    if name == "compile":
        import projectapi.compile  # a callable module: projectapi.compile(model, archive, ...)

        return projectapi.compile
    raise AttributeError(f"module 'projectapi' has no attribute {name!r}")
