"""The ``projectapi`` command: one argparse parser, one module per group of subcommands."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from projectapi.cli import output
from projectapi.cli.parsing import Parser, UsageError
from projectapi.errors import ProjectAPIError

# Each module defines ``register(subparsers)``, adding its subcommands; every subcommand sets
# ``func(args) -> int`` through ``set_defaults``.
_COMMAND_MODULES = (
    "projectapi.cli.project_commands",
    "projectapi.cli.mlf_commands",
    "projectapi.cli.run_command",
    "projectapi.cli.runtime_commands",
    "projectapi.cli.compile_command",
    "projectapi.cli.device_commands",
    "projectapi.cli.measure_command",
    "projectapi.cli.tune_command",
    "projectapi.cli.farm_command",
)

# Exit statuses: 128 + the signal number, as shells report a command a signal ended.
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM
EXIT_USAGE = 2


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwind as Ctrl-C does (servers stopped, nothing half-written kept)."""


def build_parser() -> Parser:
    """Build the parser with every subcommand module that is present."""
    parser = Parser(
        prog="projectapi",
        description="Drive microTVM Project API template projects.",
        epilog="example:\n  projectapi demo\n  projectapi create --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {importlib.metadata.version('projectapi')}",
    )
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="one of these (each has --help)"
    )
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors become one ``error:`` line (or envelope) and status 1."""
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    command = _typed_command(argv)
    try:
        with _signals_raise():
            try:
                status = _parse_and_run(argv, as_json)
            except Terminated:
                output.emit_error(command, Interrupted("terminated (SIGTERM)"), as_json)
                return EXIT_TERMINATED
            except KeyboardInterrupt:
                output.emit_error(command, Interrupted("interrupted (Ctrl-C)"), as_json)
                return EXIT_INTERRUPTED
            sys.stdout.flush()  # here, where a closed pipe can still be handled
            return status
    except BrokenPipeError:
        _silence_stdout()  # the reader left (``| head``): nothing to say, nowhere to say it
        return 1


def _parse_and_run(argv: list[str], as_json: bool) -> int:
    """Parse ``argv`` and call the command's function; report usage and user errors."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        if not as_json:
            sys.stderr.write(error.usage)
        output.emit_error(_typed_command(argv), error, as_json)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except ProjectAPIError as error:
        output.emit_error(output.command_name(args), error, as_json)
        return 1


class Interrupted(ProjectAPIError):
    """The command was stopped by SIGINT or SIGTERM (its servers stopped, nothing half-made)."""


def _typed_command(argv: Sequence[str]) -> str:
    """The subcommand words of ``argv`` as far as they can be told without parsing."""
    words = [word for word in argv if not word.startswith("-")][:2]
    return " ".join(words[:2] if words[:1] in (["mlf"], ["farm"]) else words[:1])


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """While a command runs, SIGTERM unwinds like Ctrl-C (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
