"""The argument parser of every command: help with an example, errors as exceptions."""

from __future__ import annotations

import argparse

from projectapi.errors import ProjectAPIError


class UsageError(ProjectAPIError):
    """The command line is wrong (unknown option, missing argument...)."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise UsageError, so ``--json`` can report them."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise instead of printing and exiting: the caller reports it."""
        raise UsageError(f"{message} (see '{self.prog} --help')", self.format_usage())


def add_command(
    subparsers: argparse._SubParsersAction, name: str, summary: str, examples: str
) -> argparse.ArgumentParser:
    """A subcommand with a one-line ``summary`` and ``examples`` (one per line) under its help."""
    return subparsers.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog="example:\n" + "\n".join(f"  {line}" for line in examples.strip().splitlines()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    """Add ``--json``: one JSON envelope on stdout (docs/cli.md), errors included."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (docs/cli.md) instead of text"
    )
