"""``projectapi runtime``: hand projectapi's device runtime to templates and build systems.

``runtime export DIR --layout tvm`` writes it in TVM's standalone layout (what TVM passes
templates as ``standalone_crt_dir``, and what templates written for TVM glob); ``--layout
projectapi`` in its own.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from microtvm_kit import runtime_tree
from projectapi.errors import ProjectAPIError


class RuntimeExportError(ProjectAPIError):
    """The runtime cannot be exported where asked."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``runtime`` and its subcommands."""
    runtime = subparsers.add_parser("runtime", help="export projectapi's device runtime")
    commands = runtime.add_subparsers(dest="runtime_command", required=True, metavar="SUBCOMMAND")
    export = commands.add_parser(
        "export",
        help="write the runtime tree into a new directory (give it as standalone_crt_dir)",
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
    export.add_argument("--json", action="store_true", help="print JSON instead of a sentence")
    export.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    try:
        info = runtime_tree.export(args.directory, args.layout)
    except OSError as error:  # the directory exists, or cannot be written
        raise RuntimeExportError(f"cannot export the runtime to {args.directory}: {error}") from None
    components = runtime_tree.components(args.directory)
    if args.json:
        print(json.dumps(dict(info._asdict(), components=components)))
    else:
        print(
            f"exported {info.describe()}: {len(components)} components; pass "
            f"{args.directory} as standalone_crt_dir"
        )
    return 0
