"""Errors of ``projectapi compile``: each names the model part, operator or package to fix."""

from __future__ import annotations

from projectapi.errors import ProjectAPIError

INSTALL_HINT = "pip install 'projectapi[compile]'"


class CompileError(ProjectAPIError):
    """The model cannot be compiled; the message names the operator, node or option at fault."""


class MissingExtraError(CompileError):
    """A package of the ``compile`` extra is not installed."""

    def __init__(self, package: str) -> None:
        super().__init__(
            f"projectapi compile needs {package}, which is not installed: run {INSTALL_HINT}"
        )


def require(module: str, package: str) -> None:
    """Import ``module`` or raise MissingExtraError naming ``package``."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(package) from None


def summary(error: BaseException) -> str:
    """The gist of a TVM or importer error: its last non-empty line (TVM puts the message after
    a traceback), shortened."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    last = lines[-1] if lines else type(error).__name__
    return last if len(last) < 400 else last[:400] + "..."
