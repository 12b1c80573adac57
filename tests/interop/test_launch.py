"""The client launches servers exactly as TVM's does, and offers tvm.micro.project_api to them."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from microtvm_kit import KIT_DIR
from projectapi import client, compat

from .interop_testlib import BASE_PYTHON, copy_project

SERVERS = pathlib.Path(__file__).resolve().parents[1] / "protocol" / "servers"

_LAUNCHER = "launch_microtvm_api_server.sh"


def _launch_record(project: pathlib.Path) -> dict:
    with client.instantiate_from_dir(project, reply_timeout=30) as api:
        assert api.server_info_query("0.14.0")["platform_name"] == "tvm_launcher"
    return json.loads((project / "launched.json").read_text())


@pytest.mark.parametrize("python", [sys.executable, str(BASE_PYTHON)], ids=["venv", "bare"])
def test_launcher_gets_the_server_script_first_and_runs_in_the_project(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, python: str
):
    project = copy_project("tvm_launcher", tmp_path)
    monkeypatch.setenv("TVM_STYLE_PYTHON", python)
    record = _launch_record(project)
    assert record["argv"][0] == str(project / "microtvm_api_server.py")
    assert record["argv"][1] == "--read-fd" and record["argv"][3] == "--write-fd"
    assert record["cwd"] == str(project)
    # Without TVM, the server's import resolves to projectapi's server (even for a Python
    # without projectapi installed), and it served the query above.
    assert record["tvm"] == "shim"
    assert record["server"] == "microtvm_kit"  # the handler class comes from projectapi's package


def test_tvm_style_launcher_refuses_the_call_without_script(tmp_path: pathlib.Path):
    """The test launcher is as strict as TVM's: the old call (flags only) is a usage error."""
    project = copy_project("tvm_launcher", tmp_path)
    result = subprocess.run(
        [str(project / _LAUNCHER), "--read-fd", "0", "--write-fd", "1"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 255
    assert "usage:" in result.stderr


@pytest.mark.parametrize("with_script", [True, False], ids=["tvm-convention", "flags-only"])
def test_our_launcher_serves_under_both_conventions(tmp_path: pathlib.Path, with_script: bool):
    launcher = tmp_path / _LAUNCHER
    shutil.copy(SERVERS / "sh_server.sh", launcher)
    launcher.chmod(0o755)
    read_requests, write_requests = os.pipe()
    read_replies, write_replies = os.pipe()
    script = [str(tmp_path / "microtvm_api_server.py")] if with_script else []
    args = [str(launcher), *script, "--read-fd", str(read_requests), "--write-fd", str(write_replies)]
    process = subprocess.Popen(args, pass_fds=(read_requests, write_replies))
    os.close(read_requests)
    os.close(write_replies)
    with os.fdopen(write_requests, "wb") as requests, os.fdopen(read_replies, "rb") as replies:
        requests.write(b'{"jsonrpc":"2.0","method":"server_info_query","params":{},"id":1}\n')
        requests.flush()
        assert json.loads(replies.readline())["result"]["platform_name"] == "sh"
    assert process.wait(10) == 0


def _fake_tvm(directory: pathlib.Path) -> pathlib.Path:
    """A stand-in for an installed TVM whose tvm.micro.project_api.server is ours."""
    package = directory / "tvm"
    (package / "micro" / "project_api").mkdir(parents=True)
    (package / "__init__.py").write_text('PROVIDER = "installed"\n')
    (package / "micro" / "__init__.py").write_text("")
    (package / "micro" / "project_api" / "__init__.py").write_text("")
    (package / "micro" / "project_api" / "server.py").write_text(
        "from microtvm_kit.server import *  # noqa\nfrom microtvm_kit import server as _s\n"
        "ServerInfo, ProjectOption, main = _s.ServerInfo, _s.ProjectOption, _s.main\n"
    )
    return directory


def test_no_shim_when_tvm_is_importable(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
    installed = _fake_tvm(tmp_path / "site")
    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.setenv("PYTHONPATH", str(installed))
    monkeypatch.setenv("TVM_STYLE_PYTHON", sys.executable)
    assert compat.server_environment() is None
    assert _launch_record(copy_project("tvm_launcher", tmp_path))["tvm"] == "installed"


def test_shim_steps_aside_for_a_tvm_only_the_server_can_import(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
):
    """A launcher's own Python may have TVM when ours has not: that TVM wins over the shim."""
    installed = _fake_tvm(tmp_path / "site")
    monkeypatch.setenv("TVM_STYLE_PYTHON", sys.executable)
    environment = compat.server_environment()
    assert environment is not None
    assert environment["PYTHONPATH"].split(os.pathsep)[0] == str(compat.SHIM_DIR)
    assert environment[compat.KIT_DIR_VARIABLE] == str(KIT_DIR)
    monkeypatch.setenv("PYTHONPATH", str(installed))  # after the shim on the child's path
    assert _launch_record(copy_project("tvm_launcher", tmp_path))["tvm"] == "installed"


def test_shim_is_not_on_our_own_import_path():
    assert all(pathlib.Path(entry or ".").resolve() != compat.SHIM_DIR for entry in sys.path)
    assert not compat.tvm_project_api_importable()


def test_shim_is_offered_beside_a_tvm_without_micro(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
):
    """TVM after 0.16 has no tvm.micro: servers written for TVM still get the shim."""
    package = tmp_path / "site" / "tvm"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('PROVIDER = "tvm without micro"\n')
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    monkeypatch.setenv("TVM_STYLE_PYTHON", sys.executable)
    assert not compat.tvm_project_api_importable()
    environment = compat.server_environment()
    assert environment is not None
    assert environment["PYTHONPATH"].split(os.pathsep)[0] == str(compat.SHIM_DIR)
    assert _launch_record(copy_project("tvm_launcher", tmp_path))["tvm"] == "shim"
