"""The project subcommands through projectapi.cli.main, and once through the console script."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from projectapi.cli import main

_RECORDING_TEMPLATE = pathlib.Path(__file__).parents[1] / "project" / "recording_template.py"

# A server that answers only well-formed requests and exits on anything else, as TVM's did.
_BRITTLE_SERVER = """
import json, os, sys
fds = dict(zip(sys.argv[1::2], map(int, sys.argv[2::2])))
read, write = os.fdopen(fds["--read-fd"], "rb"), os.fdopen(fds["--write-fd"], "wb", 0)
for line in read:
    request = json.loads(line)
    info = {"protocol_version": 1, "platform_name": "brittle", "is_template": True,
            "model_library_format_path": None, "project_options": []}
    write.write(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": info}).encode() + b"\\n")
"""


# A server that answers server_info_query and then reads requests without ever answering.
_HUNG_SERVER = _BRITTLE_SERVER.replace(
    "for line in read:", "for line in read:\n    if b'server_info_query' not in line: continue"
)


def _run(capfd, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return exit status, stdout and stderr."""
    status = main([str(arg) for arg in argv])
    out, err = capfd.readouterr()
    return status, out, err


def _result(out: str) -> dict:
    """The ``result`` of a successful command's JSON envelope."""
    envelope = json.loads(out)
    assert envelope["schema"] == 1 and envelope["ok"] is True and envelope["error"] is None
    return envelope["result"]


def test_info_shows_platform_kind_and_options(capfd) -> None:
    status, out, _ = _run(capfd, "info", "echo")
    assert status == 0
    assert "platform: echo" in out and "kind:     template" in out
    assert "verbose  bool  false" in out
    status, out, _ = _run(capfd, "info", "echo", "--json")
    data = _result(out)
    assert data["is_template"] is True and data["platform_name"] == "echo"
    assert data["project_options"][0]["name"] == "verbose"


def test_create_build_flash_and_check(tmp_path, mlf, capfd) -> None:
    target = tmp_path / "project"
    status, out, _ = _run(capfd, "create", mlf, target, "--template", "echo", "--json")
    assert status == 0
    assert _result(out)["project_dir"] == str(target)
    assert (target / "model.tar").is_file()

    status, out, err = _run(capfd, "build", target)
    assert status == 0 and out.startswith("build finished in ")
    assert "echo: nothing to build" in err  # the server's output reaches the user's stderr

    status, out, err = _run(capfd, "flash", target, "--json", "--debug")
    assert status == 0 and json.loads(out)["command"] == "flash" and _result(out)
    assert '"method":"flash"' in err  # --debug: the server logs each request

    status, out, _ = _run(capfd, "check", target)
    assert status == 0
    assert "transport round trip" in out and "18 passed, 0 failed, 0 skipped" in out

    status, out, _ = _run(capfd, "info", target, "--json")
    assert _result(out)["model_library_format_path"] == str(target / "model.tar")


def test_option_strings_are_typed_and_may_contain_equals(tmp_path, mlf, capfd) -> None:
    template = tmp_path / "recorder"
    template.mkdir()
    shutil.copy(_RECORDING_TEMPLATE, template / "microtvm_api_server.py")
    argv = ["create", "-t", template, "-o", "board=a", "-o", "verbose=false"]
    # One pair per -o, so the positionals may come after the options.
    status, _, err = _run(
        capfd, *argv, "-o", "defines=-DX=1 -DY", "-o", "jobs=4", mlf, tmp_path / "out"
    )
    assert status == 0
    assert "note: generate_project does not use option 'jobs' (it is for build)" in err
    calls = [json.loads(line) for line in (template / "calls.jsonl").read_text().splitlines()]
    (call,) = [call for call in calls if call["method"] == "generate_project"]
    assert call["params"]["options"] == {"board": "a", "verbose": False, "defines": "-DX=1 -DY"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["info", "no-such-template"], "built-in templates: "),
        (["build", "echo"], "is a template, not a generated project"),
        (["create", "{mlf}", "{tmp}/p", "-t", "echo", "-o", "verbose"], "expected KEY=VALUE"),
        (["create", "{mlf}", "{tmp}/p", "-t", "echo", "-o", "colour=red"], "unknown option"),
        (["create", "{tmp}/none.tar", "{tmp}/p", "-t", "echo"], "no such archive"),
        (["create", "{mlf}", "{tmp}", "-t", "echo"], "already exists"),
        (["create", "{tmp}/not_a_tar.json", "{tmp}/p", "-t", "echo"], "not a readable tar archive"),
    ],
)
def test_errors_are_one_line_and_exit_1(tmp_path, mlf, capfd, argv, message) -> None:
    (tmp_path / "not_a_tar.json").write_text('{"version": 7}')
    argv = [arg.format(mlf=mlf, tmp=tmp_path) for arg in argv]
    status, out, err = _run(capfd, *argv)
    assert status == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0]
    assert not (tmp_path / "p").exists()
    status, out, _ = _run(capfd, *argv, "--json")
    assert status == 1
    envelope = json.loads(out)
    assert envelope["ok"] is False and envelope["result"] is None
    assert message in envelope["error"]["message"]
    assert "." not in envelope["error"]["type"]  # a public class name, not a module path


def test_check_fails_on_a_brittle_server_and_says_why(tmp_path, capfd) -> None:
    (tmp_path / "microtvm_api_server.py").write_text(_BRITTLE_SERVER)
    status, out, _ = _run(capfd, "check", tmp_path, "--json")
    assert status == 1
    envelope = json.loads(out)
    assert envelope["ok"] is False
    data = envelope["result"]
    assert data["passed"] is False
    results = {result["name"]: result for result in data["checks"]}
    assert results["server starts and answers server_info_query"]["status"] == "pass"
    bad_json = results["invalid JSON gets PARSE_ERROR with id null"]
    assert bad_json["status"] == "fail" and "closed its reply pipe" in bad_json["detail"]
    shutdown = results["server exits cleanly when its pipe closes"]
    assert shutdown["status"] == "not_run"
    assert (
        shutdown["detail"]
        == "the server is gone (see 'invalid JSON gets PARSE_ERROR with id null')"
    )


def test_check_refuses_file_patterns_that_are_not_lists(tmp_path, capfd) -> None:
    server = _BRITTLE_SERVER.replace(
        '"project_options": []}',
        '"project_options": [], "run_files": ["*.py"], "startup_files": "*.py"}',
    )
    (tmp_path / "microtvm_api_server.py").write_text(server)
    status, out, _ = _run(capfd, "check", tmp_path, "--json")
    assert status == 1
    results = {r["name"]: r for r in json.loads(out)["result"]["checks"]}
    shape = results["server_info reply has the protocol's shape"]
    assert shape["status"] == "fail"
    assert shape["detail"] == "startup_files is '*.py', not a list of glob patterns"


def test_check_stops_a_server_that_never_answers(tmp_path, capfd, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # rows unwrapped, so each detail is on one line
    (tmp_path / "microtvm_api_server.py").write_text(_HUNG_SERVER)
    status, out, _ = _run(capfd, "check", tmp_path, "--reply-timeout", "0.5")
    assert status == 1
    # The failure that stops the run is printed once; the later rows only point at it.
    assert out.count("sent no reply within 0.5 s") == 1
    assert "3 passed, 1 failed, 0 skipped, 14 not run" in out


def test_console_script(tmp_path) -> None:
    script = pathlib.Path(sys.executable).with_name("projectapi")
    done = subprocess.run(
        [script, "info", "echo", "--json"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert _result(done.stdout)["platform_name"] == "echo"
    done = subprocess.run([script, "build", tmp_path], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "has no microtvm_api_server.py" in done.stderr
