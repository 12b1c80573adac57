"""``projectapi runtime``: hand projectapi's device runtime to templates and build systems.

``runtime export DIR --layout tvm`` writes it in TVM's standalone layout (what TVM passes
templates as ``standalone_crt_dir``, and what templates written for TVM glob); ``--layout
projectapi`` in its own.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from microtvm_kit import runtime_tree
from projectapi.cli import output
from projectapi.cli.parsing import add_command, add_json
from projectapi.errors import ProjectAPIError


class RuntimeExportError(ProjectAPIError):
    """The runtime cannot be exported where asked."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``runtime`` and its subcommands."""
    runtime = add_command(
        subparsers,
        "runtime",
        "export projectapi's device runtime for templates and build systems",
        "projectapi runtime export crt --layout tvm",
    )
    commands = runtime.add_subparsers(
        dest="runtime_command", required=True, metavar="SUBCOMMAND", help="one of:"
    )
    export = add_command(
        commands,
        "export",
        "write the runtime tree into a new directory (give it as standalone_crt_dir)",
        "projectapi runtime export crt --layout tvm\nprojectapi runtime export crt",
    )
    export.add_argument("directory", type=Path, help="directory to create (must not exist)")
    export.add_argument(
        "--layout",
        choices=runtime_tree.LAYOUTS,
        default="projectapi",
        help="tvm: TVM's standalone layout (include/, src/runtime/crt/<lib>/, crt_config/, "
        "Makefile), for templates written for TVM; projectapi: this runtime's own layout "
        "(default)",
    )
    add_json(export)
    export.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    try:
        info = runtime_tree.export(args.directory, args.layout)
    except OSError as error:  # the directory exists, or cannot be written
        raise RuntimeExportError(f"cannot export the runtime to {args.directory}: {error}") from None
    components = runtime_tree.components(args.directory)
    output.emit(
        args,
        dict(info._asdict(), components=components),
        f"exported {info.describe()}: {len(components)} components; pass "
        f"{args.directory} as standalone_crt_dir",
    )
    return 0
