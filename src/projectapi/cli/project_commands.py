"""Project subcommands: info, create, library, build, flash and check.

Every command takes ``--json`` (one JSON object on stdout instead of text). Option values come
as ``-o KEY=VALUE`` (repeatable, several after one ``-o``) and are typed by the option's declared
type. A server's own output (build logs) goes to stderr as it happens.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from projectapi import check, project
from projectapi.server import ProjectOption

_PROJECT_HELP = "a project directory, or the name of a built-in template"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the project subcommands."""
    info = subparsers.add_parser(
        "info", help="describe a template or generated project and its options"
    )
    info.add_argument("project", metavar="DIR_OR_TEMPLATE", help=_PROJECT_HELP)
    _add_json(info, debug=True)
    info.set_defaults(func=_info)

    create = subparsers.add_parser(
        "create", help="generate a project for a Model Library Format archive from a template"
    )
    create.add_argument("mlf", metavar="MLF", help="Model Library Format archive (.tar)")
    create.add_argument("project_dir", metavar="PROJECT_DIR", help="new directory to create")
    create.add_argument(
        "-t", "--template", required=True, metavar="NAME_OR_DIR", help=_PROJECT_HELP
    )
    _add_options(create, "generate_project options")
    _add_json(create, debug=True)
    create.set_defaults(func=_create)

    library = subparsers.add_parser(
        "library",
        help="generate a library (model, runtime, header, build glue) from a template",
    )
    library.add_argument("mlf", metavar="MLF", help="Model Library Format archive (.tar)")
    library.add_argument("library_dir", metavar="OUT_DIR", help="new directory to create")
    library.add_argument(
        "-t", "--template", required=True, metavar="NAME_OR_DIR", help=_PROJECT_HELP
    )
    _add_options(library, "generate_library options")
    _add_json(library, debug=True)
    library.set_defaults(func=_library)

    for method in ("build", "flash"):
        command = subparsers.add_parser(method, help=f"{method} a generated project")
        command.add_argument("project", metavar="DIR", help="generated project directory")
        _add_options(command, f"{method} options")
        _add_json(command, debug=True)
        command.set_defaults(func=_run_method, method=method)

    conformance = subparsers.add_parser(
        "check", help="run the Project API conformance checks against a project's server"
    )
    conformance.add_argument("project", metavar="DIR_OR_TEMPLATE", help=_PROJECT_HELP)
    _add_options(conformance, "open_transport options for the transport checks")
    conformance.add_argument(
        "--reply-timeout",
        type=float,
        default=check.REPLY_TIMEOUT_SEC,
        metavar="SECONDS",
        help="how long the server may take to answer a request (default: %(default)g)",
    )
    _add_json(conformance)
    conformance.set_defaults(func=_check)


def _add_options(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``-o KEY=VALUE...``."""
    parser.add_argument(
        "-o",
        "--option",
        dest="option_strings",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help=f"{what}; the value may contain '=' (see 'projectapi info' for the options)",
    )


def _add_json(parser: argparse.ArgumentParser, debug: bool = False) -> None:
    """Add ``--json`` and, for commands that call a server through the client, ``--debug``."""
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    if debug:
        parser.add_argument(
            "--debug", action="store_true", help="the server logs every request and reply"
        )


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    """Print ``data`` as JSON with ``--json``, else ``text``."""
    print(json.dumps(data, indent=2) if args.json else text)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under headers in aligned columns (the last column is not padded)."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers) - 1)]
    return "\n".join(
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]
        ).rstrip()
        for row in [headers, *rows]
    )


def _cell(value: Any) -> str:
    """One table cell: lists joined by commas, nothing as '-', booleans as typed on input."""
    if value is None or value == []:
        return "-"
    if value == "":
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_cell(item) for item in value)
    return str(value)


def _typed_options(
    args: argparse.Namespace, declared: Sequence[ProjectOption], method: str
) -> dict[str, Any]:
    """The ``-o`` values typed by their declared types; a note for each ``method`` ignores."""
    values = project.parse_option_strings(args.option_strings, declared)
    for option in declared:
        used_by = project.option_methods(option)
        if option.name in values and method not in used_by:
            print(
                f"note: {method} does not use option {option.name!r} "
                f"(it is for {', '.join(used_by) or 'no method'})",
                file=sys.stderr,
            )
    return values


def _info(args: argparse.Namespace) -> int:
    """``info``: platform, kind, model and the option table."""
    with project.open_project(args.project, debug=args.debug) as opened:
        info = opened.info
        options = [option._asdict() for option in opened.options]
        data = {
            "project_dir": str(opened.project_dir),
            "platform_name": info.platform_name,
            "is_template": info.is_template,
            "generates": list(opened.generates),
            "model_library_format_path": info.model_library_format_path,
            "project_options": options,
        }
    lines = [
        f"project:  {data['project_dir']}",
        f"platform: {info.platform_name}",
        f"kind:     {'template' if info.is_template else 'generated project'}",
        f"makes:    {', '.join(data['generates'])}",
    ]
    if info.model_library_format_path:
        lines.append(f"model:    {info.model_library_format_path}")
    lines.append("")
    columns = ("name", "type", "default", "choices", "required", "optional", "help")
    lines.append(
        _table(columns, [[_cell(option[column]) for column in columns] for option in options])
        if options
        else "no options"
    )
    _emit(args, data, "\n".join(lines))
    return 0


def _create(args: argparse.Namespace) -> int:
    """``create``: generate a project from a template and check that its server answers."""
    with project.TemplateProject(args.template, debug=args.debug) as template:
        options = _typed_options(args, template.options, "generate_project")
        with template.generate_project(args.mlf, args.project_dir, options) as generated:
            data = {
                "project_dir": str(generated.project_dir),
                "template": str(template.project_dir),
                "platform_name": generated.info.platform_name,
            }
    _emit(
        args,
        data,
        f"created {data['project_dir']} from {data['template']} (platform {data['platform_name']})",
    )
    return 0


def _library(args: argparse.Namespace) -> int:
    """``library``: generate a library from a template (its generate_library)."""
    with project.TemplateProject(args.template, debug=args.debug) as template:
        options = _typed_options(args, template.options, "generate_library")
        library_dir = template.generate_library(args.mlf, args.library_dir, options)
        data = {
            "library_dir": str(library_dir),
            "template": str(template.project_dir),
            "platform_name": template.info.platform_name,
        }
    _emit(
        args,
        data,
        f"generated library {data['library_dir']} from {data['template']} "
        f"(platform {data['platform_name']})",
    )
    return 0


def _run_method(args: argparse.Namespace) -> int:
    """``build`` or ``flash`` (``args.method``) a generated project, timing it."""
    method = args.method
    with project.GeneratedProject(args.project, debug=args.debug) as generated:
        options = _typed_options(args, generated.options, method)
        start = time.monotonic()
        getattr(generated, method)(options)
        seconds = time.monotonic() - start
    data = {
        "project_dir": str(generated.project_dir),
        "command": method,
        "seconds": round(seconds, 3),
    }
    _emit(args, data, f"{method} finished in {seconds:.2f} s: {data['project_dir']}")
    return 0


def _check(args: argparse.Namespace) -> int:
    """``check``: the conformance table; exit status 1 if any check failed."""
    project_dir = project.find_project_dir(args.project)
    results = check.run_checks(project_dir, args.option_strings, args.reply_timeout)
    counts = {
        status: sum(r.status == status for r in results) for status in ("pass", "fail", "skip")
    }
    data = {
        "project_dir": str(project_dir),
        "passed": counts["fail"] == 0,
        "checks": [dataclasses.asdict(result) for result in results],
    }
    table = _table(
        ("check", "result", "detail"), [[r.name, r.status.upper(), r.detail] for r in results]
    )
    summary = f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"
    _emit(args, data, f"{table}\n\n{summary}")
    return 0 if data["passed"] else 1
