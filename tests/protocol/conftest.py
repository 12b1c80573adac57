"""Fixtures for the protocol tests: test projects in tmp_path and a raw pipe to a server."""

from __future__ import annotations

import json
import os
import pathlib
import select
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from microtvm_kit import generate

SERVERS = pathlib.Path(__file__).parent / "servers"


def child_pids() -> set[int]:
    """Processes (zombies included) whose parent is this process, from /proc."""
    me = os.getpid()
    children = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path("/proc", entry, "stat").read_text()
        except OSError:
            continue  # exited while we looked
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            children.add(int(entry))
    return children


def make_project(directory: pathlib.Path, server_script: str) -> pathlib.Path:
    """A project directory laid out like a generated one: the server script beside the kit."""
    directory.mkdir(parents=True, exist_ok=True)
    generate.copy_helpers(SERVERS / server_script, directory)
    return directory


@pytest.fixture
def handler_project(tmp_path: pathlib.Path) -> pathlib.Path:
    """A project whose server is servers/handler_server.py (loopback transport, calls logged)."""
    return make_project(tmp_path / "handler_project", "handler_server.py")


@pytest.fixture
def raw_project(tmp_path: pathlib.Path) -> Callable[[str], pathlib.Path]:
    """Factory: a project whose hand-written server behaves as named (servers/raw_server.py)."""

    def make(behaviour: str) -> pathlib.Path:
        directory = make_project(tmp_path / behaviour, "raw_server.py")
        (directory / "behaviour.txt").write_text(behaviour)
        return directory

    return make


def logged_calls(project: pathlib.Path) -> list[dict]:
    """The calls the handler server recorded, oldest first."""
    lines = (project / "calls.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


class RawServer:
    """The handler server driven directly over its pipes, one raw line at a time."""

    def __init__(self, project: pathlib.Path) -> None:
        self._requests_read, self._requests = os.pipe()
        self._replies, self._replies_write = os.pipe()
        fds = (self._requests_read, self._replies_write)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "microtvm_api_server.py",
                "--read-fd",
                str(fds[0]),
                "--write-fd",
                str(fds[1]),
            ],
            cwd=project,
            pass_fds=fds,
            stderr=subprocess.PIPE,
        )
        os.close(self._requests_read)
        os.close(self._replies_write)
        self._buffer = b""

    def send(self, line: bytes) -> None:
        os.write(self._requests, line)

    def reply(self, timeout: float = 10.0) -> dict:
        """The next reply line as an object; fails the test if none comes within ``timeout``."""
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self._replies], [], [], timeout)
            assert ready, f"the server sent no reply within {timeout} s"
            chunk = os.read(self._replies, 1 << 20)
            assert chunk, "the server closed its reply pipe"
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def call(self, method: str, params: object, request_id: object = 1) -> dict:
        """Send one well-formed request and return its reply."""
        request = {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}
        self.send(json.dumps(request).encode() + b"\n")
        return self.reply()

    def no_reply_within(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._replies], [], [], timeout)
        return not ready and b"\n" not in self._buffer

    def close(self) -> tuple[int, str]:
        """Close the request pipe; the server must exit 0 on EOF. Returns (status, stderr)."""
        os.close(self._requests)
        try:
            _, stderr = self.process.communicate(timeout=10)
        finally:
            self.process.kill()
            self.process.wait()
            os.close(self._replies)
        return self.process.returncode, stderr.decode()


@pytest.fixture
def raw_server(handler_project: pathlib.Path) -> Iterator[RawServer]:
    """The handler server over raw pipes, closed (and checked to exit cleanly) after the test."""
    connection = RawServer(handler_project)
    yield connection
    status, stderr = connection.close()
    assert status == 0, stderr
