"""Project subcommands: info, create, library, build, flash and check.

Every command takes ``--json`` (the envelope of ``cli.output`` on stdout instead of text).
Option values come as ``-o KEY=VALUE``, one pair per ``-o``, typed by the option's declared
type. A server's own output (build logs) goes to stderr as it happens.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from typing import Any

from projectapi import client, conformance, mlf, project
from projectapi.cli import output
from projectapi.cli.parsing import add_command, add_json
from projectapi.server import ProjectOption

_PROJECT_HELP = "a project directory, or the name of a built-in template"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the project subcommands."""
    info = add_command(
        subparsers,
        "info",
        "describe a template or generated project and its options",
        "projectapi info qemu\nprojectapi info proj --json",
    )
    info.add_argument("project", metavar="DIR_OR_TEMPLATE", help=_PROJECT_HELP)
    _add_json(info, debug=True)
    add_timeout(info)
    info.set_defaults(func=_info)

    create = add_command(
        subparsers,
        "create",
        "generate a project for a Model Library Format archive from a template",
        "projectapi create model.tar proj --template host -o project_type=host_driven",
    )
    create.add_argument("mlf", metavar="MLF", help="Model Library Format archive (.tar)")
    create.add_argument("project_dir", metavar="PROJECT_DIR", help="new directory to create")
    create.add_argument(
        "-t", "--template", required=True, metavar="NAME_OR_DIR", help=_PROJECT_HELP
    )
    create.add_argument(
        "--standalone-crt-dir",
        metavar="DIR",
        help="runtime tree to hand the template (e.g. TVM's standalone CRT); default: this "
        "package's runtime (in TVM's layout for templates that are not built in)",
    )
    _add_options(create, "generate_project options")
    _add_json(create, debug=True)
    create.set_defaults(func=_create)

    library = add_command(
        subparsers,
        "library",
        "generate a library (model, runtime, header, build glue) from a template",
        "projectapi library model.tar lib --template host -o library_name=mnist",
    )
    library.add_argument("mlf", metavar="MLF", help="Model Library Format archive (.tar)")
    library.add_argument("library_dir", metavar="OUT_DIR", help="new directory to create")
    library.add_argument(
        "-t", "--template", required=True, metavar="NAME_OR_DIR", help=_PROJECT_HELP
    )
    _add_options(library, "generate_library options")
    _add_json(library, debug=True)
    library.set_defaults(func=_library)

    for method, summary in (
        ("build", "build a generated project (incremental) and report its memory use"),
        ("flash", "flash a generated project onto its device"),
    ):
        command = add_command(subparsers, method, summary, f"projectapi {method} proj")
        command.add_argument("project", metavar="DIR", help="generated project directory")
        _add_options(command, f"{method} options")
        _add_json(command, debug=True)
        add_timeout(command)
        command.set_defaults(func=_run_method, method=method)

    check_parser = add_command(
        subparsers,
        "check",
        "run the Project API conformance checks against a project's server",
        "projectapi check echo\nprojectapi check proj -o verbose=true",
    )
    check_parser.add_argument("project", metavar="DIR_OR_TEMPLATE", help=_PROJECT_HELP)
    _add_options(check_parser, "open_transport options for the transport checks")
    check_parser.add_argument(
        "--timeout",
        "--reply-timeout",
        dest="reply_timeout",
        type=float,
        default=conformance.REPLY_TIMEOUT_SEC,
        metavar="SECONDS",
        help="how long the server may take to answer a request (default: %(default)g)",
    )
    add_json(check_parser)
    check_parser.set_defaults(func=_check)


def _add_options(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``-o KEY=VALUE``, one pair per ``-o`` (repeat it), so positionals may follow."""
    parser.add_argument(
        "-o",
        "--option",
        dest="option_strings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{what}, one per -o (repeat it); the value may contain '=' "
        "(see 'projectapi info' for the options)",
    )


def add_timeout(parser: argparse.ArgumentParser) -> None:
    """Add ``--timeout``: the longest wait for any reply of the project's server."""
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="wait at most this long for each reply of the project's server (default: per "
        f"method, {client.DEFAULT_REPLY_TIMEOUTS['server_info_query']:g} s for queries)",
    )


def _add_json(parser: argparse.ArgumentParser, debug: bool = False) -> None:
    """Add ``--json`` and, for commands that call a server through the client, ``--debug``."""
    add_json(parser)
    if debug:
        parser.add_argument(
            "--debug", action="store_true", help="the server logs every request and reply"
        )


def _cell(value: Any) -> str:
    """One table cell: lists joined by commas, nothing as '-', booleans as typed on input.

    Text comes from the server: control characters are escaped before they reach a terminal.
    """
    if value is None or value == []:
        return "-"
    if value == "":
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(item) for item in value)
    return output.escape_controls(str(value))


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
    with project.open_project(
        args.project, debug=args.debug, reply_timeout=args.timeout
    ) as opened:
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
        f"platform: {output.escape_controls(info.platform_name)}",
        f"kind:     {'template' if info.is_template else 'generated project'}",
        f"makes:    {', '.join(data['generates'])}",
    ]
    if info.model_library_format_path:
        lines.append(f"model:    {info.model_library_format_path}")
    lines.append("")
    columns = ("name", "type", "default", "choices", "required", "optional", "help")
    lines.append(
        output.table(columns, [[_cell(option[column]) for column in columns] for option in options])
        if options
        else "no options"
    )
    output.emit(args, data, "\n".join(lines))
    return 0


def _create(args: argparse.Namespace) -> int:
    """``create``: generate a project from a template and check that its server answers."""
    mlf.validate(args.mlf)  # a bad archive is refused before any template is launched
    with project.TemplateProject(args.template, debug=args.debug) as template:
        options = _typed_options(args, template.options, "generate_project")
        with template.generate_project(
            args.mlf, args.project_dir, options, args.standalone_crt_dir
        ) as generated:
            data = {
                "project_dir": str(generated.project_dir),
                "template": str(template.project_dir),
                "platform_name": generated.info.platform_name,
            }
    output.emit(
        args,
        data,
        f"created {data['project_dir']} from {data['template']} "
        f"(platform {output.escape_controls(data['platform_name'])})",
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
    output.emit(
        args,
        data,
        f"generated library {data['library_dir']} from {data['template']} "
        f"(platform {data['platform_name']})",
    )
    return 0


def _run_method(args: argparse.Namespace) -> int:
    """``build`` or ``flash`` (``args.method``) a generated project, timing it."""
    method = args.method
    with project.GeneratedProject(
        args.project, debug=args.debug, reply_timeout=args.timeout
    ) as generated:
        options = _typed_options(args, generated.options, method)
        start = time.monotonic()
        memory = getattr(generated, method)(options)
        seconds = time.monotonic() - start
    data = {"project_dir": str(generated.project_dir), "seconds": round(seconds, 3)}
    text = f"{method} finished in {seconds:.2f} s: {data['project_dir']}"
    if method == "build":
        data["memory"] = memory
        text += _memory_line(memory)
    output.emit(args, data, text)
    return 0


def _memory_line(memory: dict[str, Any] | None) -> str:
    """The memory report on one line (sizes, and the use against the board's limits)."""
    if not memory:
        return ""
    sizes = " ".join(f"{key} {memory[key]}" for key in ("text", "data", "bss") if key in memory)
    limits = [
        f"{region} {memory[f'{region}_used']}/{memory[f'{region}_limit']}"
        for region in ("flash", "ram")
        if f"{region}_used" in memory and f"{region}_limit" in memory
    ]
    return f"\nmemory: {sizes}" + (f" ({', '.join(limits)} bytes used)" if limits else "")


def _check(args: argparse.Namespace) -> int:
    """``check``: the conformance table; exit status 1 if any check failed."""
    project_dir = project.find_project_dir(args.project)
    results = conformance.run_checks(project_dir, args.option_strings, args.reply_timeout)
    counts = {status: sum(r.status == status for r in results) for status in conformance.STATUSES}
    data = {
        "project_dir": str(project_dir),
        "passed": counts["fail"] == 0,
        "checks": [dataclasses.asdict(result) for result in results],
    }
    table = output.table(
        ("check", "result", "detail"),
        [[r.name, r.status.upper().replace("_", " "), r.detail] for r in results],
    )
    summary = f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"
    if counts["not_run"]:
        summary += f", {counts['not_run']} not run"
    output.emit(args, data, f"{table}\n\n{summary}", ok=data["passed"])
    return 0 if data["passed"] else 1
