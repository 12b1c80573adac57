"""The command line as a user meets it: help, --version, the JSON envelope, -o, wide tables,
closed pipes and terminal control characters from templates."""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from projectapi.cli import build_parser, main

_MISBEHAVING_TEMPLATE = pathlib.Path(__file__).parent / "templates" / "misbehaving_server.py"
_SCRIPT = pathlib.Path(sys.executable).with_name("projectapi")


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> dict:
    """Every subcommand's parser by its name as typed (``mlf``, ``mlf validate``)."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[f"{prefix}{name}"] = sub
                found.update(_subcommands(sub, f"{prefix}{name} "))
    return found


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("projectapi 0.")


def test_every_command_has_help_an_example_and_json() -> None:
    commands = _subcommands(build_parser())
    assert {
        "info",
        "create",
        "build",
        "flash",
        "check",
        "run",
        "demo",
        "mlf",
        "mlf example",
    } <= set(commands)
    assert build_parser().epilog.startswith("example:")
    for name, parser in commands.items():
        assert parser.description and parser.description.endswith("."), name
        assert "example:\n  projectapi " in (parser.epilog or ""), name
        options = {flag for action in parser._actions for flag in action.option_strings}
        is_group = any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        assert "--json" in options or is_group, name
        for action in parser._actions:
            if not action.option_strings:  # a positional
                assert action.help, f"{name}: {action.dest} has no help"


def test_argument_errors_are_json_with_json(capfd) -> None:
    assert main(["mlf", "validate", "--json"]) == 2
    envelope = json.loads(capfd.readouterr().out)
    assert envelope == {
        "schema": 1,
        "command": "mlf validate",
        "ok": False,
        "result": None,
        "error": {
            "type": "UsageError",
            "message": "the following arguments are required: archive "
            "(see 'projectapi mlf validate --help')",
        },
    }
    assert main(["mlf", "validate"]) == 2
    out, err = capfd.readouterr()
    assert out == "" and err.startswith("usage: projectapi mlf validate")


def test_option_pairs_leave_positionals_alone(tmp_path, mlf, capfd) -> None:
    project = tmp_path / "p"
    assert main(["create", "-t", "echo", "-o", "verbose=true", str(mlf), str(project)]) == 0
    assert (project / "model.tar").is_file()
    capfd.readouterr()


def test_wide_tables_fit_the_terminal(capfd, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["info", "qemu"]) == 0
    out = capfd.readouterr().out
    assert "board" in out and "mps2-an385" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_a_closed_output_pipe_is_not_a_traceback() -> None:
    archive = pathlib.Path(__file__).parents[1] / "data" / "mlf" / "mnist_graph.tar"
    # "| true" closes the pipe before the command prints; "| head" after the first line.
    done = subprocess.run(
        f"'{_SCRIPT}' info qemu | true; '{_SCRIPT}' mlf inspect --json '{archive}' | true; "
        f"'{_SCRIPT}' check echo | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "20", "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.startswith("server starts")  # 20 columns: one block per check
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr


def test_template_control_characters_are_escaped(tmp_path, mlf) -> None:
    template = tmp_path / "template"
    template.mkdir()
    shutil.copy(_MISBEHAVING_TEMPLATE, template / "microtvm_api_server.py")
    for extra in ([], ["--json"]):
        done = subprocess.run(
            [_SCRIPT, "create", mlf, tmp_path / "p", "-t", template, *extra],
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 1
        for stream in (done.stdout, done.stderr):
            assert not set(stream.decode()) & {"\x00", "\x1b", "\x07", "\x9b"}, stream
        assert b"starting\\x00\\x1b[2J\\x1b]0;owned\\x07\\x9b" in done.stderr  # the relay
        shown = done.stderr if not extra else json.loads(done.stdout)["error"]["message"].encode()
        assert b"bad archive\\x00\\x1b[2J" in shown  # the error message
