"""This machine's Ray node as a child process: started, waited for, and stopped leaving nothing.

``ray start --block`` runs in a session of its own, so every process of the node (GCS, raylet,
workers, agents) carries that session id: stopping sends it SIGTERM (Ray stops its processes),
then kills whatever of the session is still there. Token authentication is always on, the
dashboard off, the address 127.0.0.1 unless another is given, and the CPUs explicit. No log
monitor runs: it would forward workers' output to drivers, and farm drivers do not print it
(their workers' output stays in Ray's log files on each node), so it would only take CPU from
the builds.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from projectapi.farm.connection import TOKEN_HINT, require_token_auth
from projectapi.farm.errors import FarmError

READY_MARK = "Ray runtime started"
START_SECONDS = 90.0
STOP_SECONDS = 20.0
_RAY = (sys.executable, "-m", "ray.scripts.scripts")


@dataclass(frozen=True)
class NodeSettings:
    """How this machine's node starts: its address, CPUs for builds, Ray's temp folder."""

    node_ip: str = "127.0.0.1"
    num_cpus: int = 1
    temp_dir: pathlib.Path | None = None

    def arguments(self) -> list[str]:
        """``ray start`` arguments every farm node gets."""
        args = [
            "--block",
            f"--node-ip-address={self.node_ip}",
            f"--num-cpus={self.num_cpus}",
            "--disable-usage-stats",
            "--include-log-monitor=false",
        ]
        if self.temp_dir is not None:
            args.append(f"--temp-dir={self.temp_dir}")
        return args


def head_arguments(port: int) -> list[str]:
    """``ray start`` arguments of the head: the GCS port, no dashboard."""
    return ["--head", f"--port={port}", "--include-dashboard=false"]


def join_arguments(address: str, resources: Mapping[str, float]) -> list[str]:
    """``ray start`` arguments of a node joining ``address`` with custom ``resources``."""
    return [f"--address={address}", f"--resources={json.dumps(dict(resources))}"]


def token_available() -> bool:
    """A token is where Ray looks: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(pathlib.Path.home() / ".ray/auth_token")
    return pathlib.Path(path).is_file()


def ensure_token() -> None:
    """Create a token with Ray's own command when none exists (the head's first start)."""
    if token_available():
        return
    subprocess.run([*_RAY, "get-auth-token", "--generate"], check=True, capture_output=True)


def session_processes(session: int) -> list[int]:
    """Pids of the live processes whose session id is ``session`` (Linux /proc)."""
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == session and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


class RayNode:
    """A ``ray start --block`` child; use as a context manager (stopped on the way out)."""

    def __init__(self, arguments: Sequence[str]) -> None:
        """Start the node and wait until Ray says it runs."""
        require_token_auth()
        self._log = tempfile.NamedTemporaryFile(prefix="projectapi-ray-node-", suffix=".log")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [*_RAY, "start", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    @property
    def session(self) -> int:
        """The session id every process of this node carries."""
        return self.process.pid

    def log_tail(self, lines: int = 6) -> str:
        """The last lines Ray printed."""
        text = pathlib.Path(self._log.name).read_text(errors="replace")
        return "\n".join(text.strip().splitlines()[-lines:])

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if READY_MARK in pathlib.Path(self._log.name).read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                raise FarmError(self._failure())
            time.sleep(0.2)
        raise FarmError(f"Ray did not start within {START_SECONDS:.0f} s:\n{self.log_tail()}")

    def _failure(self) -> str:
        tail = self.log_tail()
        if "uthenticat" in tail or "token" in tail.lower():
            return f"the farm refused this node's token: {TOKEN_HINT}\n{tail}"
        return f"Ray could not start this node:\n{tail}"

    def alive(self) -> bool:
        """The node's ``ray start`` is still running."""
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM to Ray (it stops its processes), then SIGKILL to whatever is left."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        deadline = time.monotonic() + STOP_SECONDS
        while session_processes(self.session) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in session_processes(self.session):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        self._log.close()

    def __enter__(self) -> RayNode:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
