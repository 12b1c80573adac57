"""The ``projectapi`` command: one argparse parser, one module per group of subcommands."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from projectapi.errors import ProjectAPIError

# Each module defines ``register(subparsers)``, adding its subcommands; every subcommand sets
# ``func(args) -> int`` through ``set_defaults``.
_COMMAND_MODULES = (
    "projectapi.cli.project_commands",
    "projectapi.cli.mlf_commands",
    "projectapi.cli.run_command",
    "projectapi.cli.device_commands",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every subcommand module that is present."""
    parser = argparse.ArgumentParser(
        prog="projectapi", description="Drive microTVM Project API template projects."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors become one ``error:`` line and exit status 1."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ProjectAPIError as error:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(error), "type": type(error).__name__}))
        else:
            print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
