"""A real Ray farm for tests, every process of it inside a private network namespace.

A holder process (``unshare --net``, loopback up) keeps the namespace; every farm command runs
in it through ``nsenter``, so Ray's traffic, whatever address it picks, stays on that private
loopback. Each ``projectapi farm start/join`` runs in a session of its own and reports its Ray
node's session; closing stops them with SIGTERM (as Ctrl-C would) and reports any process of
those sessions still alive. Nothing here runs a global ``ray stop``.
"""

from __future__ import annotations

import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from projectapi.farm.ray_node import session_processes

READY = re.compile(r"^ready: .*\(session (\d+)\)")
START_SECONDS = 120.0

# Node failures noticed within seconds rather than Ray's default 30 (tests only).
FAST_FAILURE_DETECTION = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


class NetNamespace:
    """A network namespace with only loopback, alive while its holder sleeps."""

    def __init__(self) -> None:
        """Create it (needs root, as ``unshare --net`` does)."""
        self.holder = subprocess.Popen(
            ["unshare", "--net", "sh", "-c", "ip link set lo up && echo up && exec sleep 86400"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.holder.stdout is not None
        if self.holder.stdout.readline().strip() != "up":
            raise RuntimeError("could not set up a network namespace (unshare --net)")

    def command(self, args: list[str]) -> list[str]:
        """``args`` run inside the namespace."""
        return ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--", *args]

    def close(self) -> None:
        """End the holder (the namespace goes with its last process)."""
        self.holder.kill()
        self.holder.wait()


@dataclass
class Member:
    """A foreground farm command (start or join) and its Ray node's session."""

    process: subprocess.Popen[str]
    node_session: int
    log: pathlib.Path

    @property
    def sessions(self) -> list[int]:
        """Every session id its processes carry."""
        return [self.process.pid, self.node_session]


class FarmCluster:
    """A head plus joined nodes, run by the ``projectapi`` command line in a namespace."""

    def __init__(self, port: int = 6379, fast_failure_detection: bool = True) -> None:
        """A namespace, a token and a short temp folder (Ray's socket paths stay short);
        node failures noticed within seconds unless ``fast_failure_detection`` is off (Ray's
        own health checks, as a farm runs them)."""
        self.namespace = NetNamespace()
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="pf-", dir="/tmp"))
        self.token = secrets.token_hex(16)
        self.address = f"127.0.0.1:{port}"
        (self.root / "tmp").mkdir()  # the farm's temporary files, even those of killed nodes
        self.env = {
            **os.environ,
            **(FAST_FAILURE_DETECTION if fast_failure_detection else {}),
            "RAY_AUTH_TOKEN": self.token,
            "TMPDIR": str(self.root / "tmp"),
        }
        self.env.pop("RAY_ADDRESS", None)
        self.members: list[Member] = []

    def cli(self, *args: str) -> list[str]:
        """``projectapi ARGS`` inside the namespace."""
        return self.namespace.command([sys.executable, "-m", "projectapi", *args])

    def run(
        self, *args: str, timeout: float = 180.0, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run ``projectapi ARGS`` to its end."""
        return subprocess.run(
            self.cli(*args),
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start ``projectapi ARGS`` in a session of its own."""
        return subprocess.Popen(
            self.cli(*args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )  # fmt: skip

    def _foreground(self, name: str, *args: str) -> Member:
        log = self.root / f"{name}.log"
        with log.open("w") as sink:
            process = subprocess.Popen(
                self.cli(*args), env=self.env, stdout=subprocess.DEVNULL, stderr=sink,
                text=True, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            for line in log.read_text().splitlines():
                match = READY.match(line)
                if match:
                    member = Member(process, int(match.group(1)), log)
                    self.members.append(member)
                    return member
            if process.poll() is not None:
                raise RuntimeError(f"farm {name} failed:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        process.kill()
        raise RuntimeError(f"farm {name} was not ready in time:\n{log.read_text()[-3000:]}")

    def start_head(self, num_cpus: int = 1) -> Member:
        """``farm start`` here."""
        return self._foreground(
            "head", "farm", "start", f"--port={self.address.rsplit(':', 1)[1]}",
            f"--num-cpus={num_cpus}", f"--temp-dir={self.root / 'h'}",
        )  # fmt: skip

    def join(self, name: str, inventory: str, num_cpus: int = 1) -> Member:
        """``farm join`` with the TOML ``inventory``."""
        path = self.root / f"{name}.toml"
        path.write_text(inventory)
        return self._foreground(
            name, "farm", "join", self.address, f"--inventory={path}",
            f"--num-cpus={num_cpus}", f"--temp-dir={self.root / name}",
        )  # fmt: skip

    def kill(self, member: Member) -> None:
        """SIGKILL every process of ``member`` at once: the machine is gone."""
        for session in member.sessions:
            for pid in session_processes(session):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
        member.process.wait()

    def leftovers(self) -> list[int]:
        """Processes of any member still alive."""
        return [pid for m in self.members for s in m.sessions for pid in session_processes(s)]

    def close(self) -> list[int]:
        """Stop the members as Ctrl-C would, nodes first; the pids left behind (killed)."""
        for member in reversed(self.members):
            if member.process.poll() is None:
                member.process.send_signal(signal.SIGTERM)
                try:
                    member.process.wait(60)
                except subprocess.TimeoutExpired:
                    member.process.kill()
        deadline = time.monotonic() + 10
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = self.leftovers()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        self.namespace.close()
        shutil.rmtree(self.root, ignore_errors=True)
        return left
