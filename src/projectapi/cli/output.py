"""What every command prints: text for people, or one JSON envelope with ``--json``.

The envelope (schema version ``SCHEMA_VERSION``) is the same for every command::

    {"schema": 1, "command": "mlf validate", "ok": true, "result": {...}, "error": null}

``ok`` is false when the command failed or found problems; ``error`` is null or
``{"type": <public error class name>, "message": <text>}``. A command adopts it with one call,
``emit(args, result, text)``; ``main`` reports errors through ``emit_error``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from projectapi.terminal import escape_controls

__all__ = ["SCHEMA_VERSION", "emit", "emit_error", "envelope", "escape_controls", "table"]

SCHEMA_VERSION = 1


def command_name(args: argparse.Namespace) -> str:
    """The subcommand as typed: ``info``, ``mlf validate``..."""
    return " ".join(
        part
        for part in (
            getattr(args, "command", None),
            getattr(args, "mlf_command", None),
            getattr(args, "farm_command", None),
        )
        if part
    )


def public_error_type(error: BaseException) -> str:
    """The name of the nearest public class of ``error`` (never a module path)."""
    for cls in type(error).__mro__:
        if not cls.__name__.startswith("_"):
            return cls.__name__
    return "Exception"


def envelope(
    command: str, result: Any = None, error: BaseException | None = None, ok: bool | None = None
) -> dict[str, Any]:
    """The JSON object a command prints with ``--json``."""
    return {
        "schema": SCHEMA_VERSION,
        "command": command,
        "ok": error is None if ok is None else ok,
        "result": result,
        "error": None
        if error is None
        else {"type": public_error_type(error), "message": escape_controls(str(error))},
    }


def emit(
    args: argparse.Namespace,
    result: Any,
    text: str | Callable[[], None],
    ok: bool = True,
) -> None:
    """Print ``result`` in the envelope with ``--json``, else ``text`` (or call it to print)."""
    if getattr(args, "json", False):
        print(json.dumps(envelope(command_name(args), result, ok=ok), indent=2))
    elif callable(text):
        text()
    else:
        print(text)


def emit_error(command: str, error: BaseException, as_json: bool) -> None:
    """Report a failed command: the envelope on stdout with ``--json``, else a line on stderr."""
    if as_json:
        print(json.dumps(envelope(command, error=error), indent=2))
    else:
        print(f"error: {escape_controls(str(error))}", file=sys.stderr)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int | None = None) -> str:
    """Rows under headers in aligned columns, wide cells wrapped to the terminal width.

    A table too wide even so (many wide columns, a narrow terminal) becomes one block per row.
    """
    width = width or shutil.get_terminal_size().columns
    all_rows = [list(headers), *(list(row) for row in rows)]
    natural = [max(len(row[i]) for row in all_rows) for i in range(len(headers))]
    widths = _fit_widths(natural, width - 2 * (len(headers) - 1))
    if widths is None:
        return _blocks(headers, rows, width)
    lines = []
    for row in all_rows:
        cells = [
            textwrap.wrap(cell, column, break_on_hyphens=False) or [""]
            for cell, column in zip(row, widths, strict=True)
        ]
        for index in range(max(len(cell) for cell in cells)):
            parts = [cell[index] if index < len(cell) else "" for cell in cells]
            lines.append(
                "  ".join(
                    part.ljust(column) for part, column in zip(parts, widths, strict=True)
                ).rstrip()
            )
    return "\n".join(lines)


# A wrapped column narrower than this is unreadable: such a table is shown as blocks instead.
_MIN_WRAPPED_COLUMN = 16
# Wrapping only the last column (usually free text) is preferred while it keeps this many.
_ROOMY_LAST_COLUMN = 30


def _fit_widths(natural: list[int], available: int) -> list[int] | None:
    """Column widths within ``available``: ``natural`` if it fits, else the last column wrapped
    if that leaves it room, else the widest columns capped; None if even that is unreadable."""
    last = available - sum(natural[:-1])
    if last >= min(natural[-1], _ROOMY_LAST_COLUMN):
        return [*natural[:-1], min(natural[-1], last)]
    cap = max(natural)
    while sum(min(w, cap) for w in natural) > available:
        cap -= 1
        if cap < _MIN_WRAPPED_COLUMN:
            return None
    return [min(w, cap) for w in natural]


def _blocks(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> str:
    """Each row as its first cell, then ``header: value`` lines wrapped to ``width``."""
    label = max(len(header) for header in headers[1:]) + 2
    blocks = []
    for row in rows:
        lines = [row[0]]
        for header, cell in zip(headers[1:], row[1:], strict=True):
            lines += textwrap.wrap(
                cell,
                max(width, label + 20),
                initial_indent=f"  {header + ':':<{label}}",
                subsequent_indent=" " * (label + 2),
                break_on_hyphens=False,
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
