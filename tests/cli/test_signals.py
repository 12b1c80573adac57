"""Ctrl-C, SIGTERM and SIGKILL of ``projectapi`` in the middle of real work.

Every case ends within two seconds with nothing left running: the command (exit status
128 + the signal for SIGINT and SIGTERM), its Project API server and the server's children
(QEMU, the host program). After SIGKILL of the command, the server notices its request pipe
hang up and stops by itself.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest
from support.data import MLF_DIR

from projectapi.mlf.example import build_example_archive
from projectapi.project import TemplateProject

_DEADLINE_SEC = 2.0
_QEMU_BOARD = "mps2-an385"


def _children() -> dict[int, list[int]]:
    """Every live process's children, from /proc (zombies count as gone)."""
    tree: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return (pathlib.Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[
            0
        ] != "Z"
    except OSError:
        return False


def _command_line(pid: int) -> str:
    try:
        return (
            (pathlib.Path("/proc") / str(pid) / "cmdline")
            .read_bytes()
            .replace(b"\0", b" ")
            .decode()
        )
    except OSError:
        return ""


def _start_and_wait_for(argv: list[str], marker: str) -> tuple[subprocess.Popen, set[int]]:
    """Start ``projectapi argv``; return once a descendant's command line holds ``marker``."""
    client = subprocess.Popen(
        [sys.executable, "-m", "projectapi", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        family = _descendants(client.pid)
        if any(marker in _command_line(pid) for pid in family):
            time.sleep(0.5)  # well into the run
            return client, _descendants(client.pid)
        if client.poll() is not None:
            raise AssertionError(f"ended before {marker} ran: {client.communicate()}")
        time.sleep(0.05)
    client.kill()
    raise AssertionError(f"{marker} never started")


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, pathlib.Path]:
    """Built projects: host-driven on the host template, standalone under QEMU."""
    root = tmp_path_factory.mktemp("signals")
    built = {}
    for name, template, options in (
        ("host_driven", "host", {"project_type": "host_driven"}),
        ("qemu", "qemu", {"project_type": "aot_standalone", "board": _QEMU_BOARD}),
    ):
        if name == "qemu" and shutil.which("qemu-system-arm") is None:
            continue
        with TemplateProject(template) as factory:
            archive = build_example_archive(root / f"{name}.tar")
            with factory.generate_project(archive, root / name, options) as project:
                project.build()
        built[name] = root / name
    return built


_SLOW_TEMPLATE = pathlib.Path(__file__).parent / "templates" / "slow_generate_server.py"
_MARKERS = {"host_driven": "build/main", "qemu": "qemu-system-arm"}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["host_driven", "qemu"])
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"]
)
def test_a_signal_ends_everything_within_two_seconds(projects, kind, sig) -> None:
    if kind not in projects:
        pytest.skip("qemu-system-arm is not installed (scripts/install-deps.sh installs it)")
    client, family = _start_and_wait_for(
        ["run", str(projects[kind]), "--repeat", "100000000"], _MARKERS[kind]
    )
    assert len(family) >= 2  # the server and the device process at least
    os.kill(client.pid, sig)
    start = time.monotonic()
    try:
        status = client.wait(_DEADLINE_SEC)
    except subprocess.TimeoutExpired:
        client.kill()
        raise AssertionError(
            f"projectapi still running {_DEADLINE_SEC} s after {sig.name}"
        ) from None
    assert status == (-sig if sig == signal.SIGKILL else 128 + sig)
    while any(map(_alive, family)) and time.monotonic() - start < _DEADLINE_SEC:
        time.sleep(0.05)
    left = [f"{pid}: {_command_line(pid)}" for pid in family if _alive(pid)]
    assert not left, f"still running {_DEADLINE_SEC} s after {sig.name}: {left}"
    if sig != signal.SIGKILL:
        err = client.stderr.read().decode()
        assert "error: interrupted" in err or "error: terminated" in err, err
        assert "Traceback" not in err


@pytest.mark.slow
def test_interrupted_create_leaves_nothing(tmp_path) -> None:
    """Ctrl-C while a template generates a project: no project, no partial directory."""
    template = tmp_path / "slow_template"
    template.mkdir()
    shutil.copy(_SLOW_TEMPLATE, template / "microtvm_api_server.py")
    parent = tmp_path / "out"
    client = subprocess.Popen(
        [sys.executable, "-m", "projectapi", "create", str(MLF_DIR / "mnist_graph.tar"),
         str(parent / "proj"), "-t", str(template)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not (parent / "proj" / "model.tar").exists():  # the template is now lingering
        assert time.monotonic() < deadline and client.poll() is None, client.communicate()
        time.sleep(0.05)
    os.kill(client.pid, signal.SIGINT)
    assert client.wait(_DEADLINE_SEC) == 130
    assert not parent.exists() or list(parent.iterdir()) == []
