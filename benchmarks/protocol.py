"""Project API protocol speed: cold start, no-op round trips and transport throughput.

Measures our server and client over real pipes against a bare JSON-lines ping-pong between two
Python processes (json.dumps/loads each way, no dispatch, no validation), the practical limit.
The transport is measured with 64 KiB writes and reads, in base85 (what every client speaks)
and in the encoding our client negotiates. Prints one table; TVM v0.14's figures are the ones
measured for TVM v0.14 on a 2-core machine of this kind. Each figure is the best of
``--repeats`` runs, which filters out interference from other processes on a shared machine.

Run: ``.venv/bin/python benchmarks/protocol.py [--seconds S] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from microtvm_kit import generate
from projectapi import client

PAYLOAD = bytes(range(256)) * 256
PAYLOAD_BYTES = len(PAYLOAD)  # 64 KiB
COLD_STARTS = 21

# A project server that does nothing: the protocol's own cost is all that is left.
_NOOP_SERVER = '''"""Benchmark server: every call returns at once, the transport is a bottomless pipe."""
from microtvm_kit import server

DATA = bytes(range(256)) * 1024


class NoopHandler(server.ProjectAPIHandler):
    def server_info_query(self, tvm_version):
        return server.ServerInfo("noop", True, None, [])

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir, options):
        pass

    def build(self, options):
        pass

    def flash(self, options):
        pass

    def open_transport(self, options):
        return server.TransportTimeouts(1, 1, 1)

    def close_transport(self):
        pass

    def read_transport(self, n, timeout_sec):
        return DATA[:n]

    def write_transport(self, data, timeout_sec):
        pass


server.main(NoopHandler())
'''

# The practical limit: a JSON-lines echo over stdin/stdout, the same dumps/loads per message.
_BARE_SERVER = """
import base64, json, sys
DATA = bytes(range(256)) * 1024
ENCODE = {"base85": base64.b85encode, "base16": bytes.hex}
DECODE = {"base85": base64.b85decode, "base16": bytes.fromhex}
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    request = json.loads(line)
    if "write" in request:
        DECODE[request["encoding"]](request["write"])
        result = None
    elif "read" in request:
        data = ENCODE[request["encoding"]](DATA[: request["read"]])
        result = {"data": data if isinstance(data, str) else data.decode()}
    else:
        result = None
    out.write(json.dumps({"id": request["id"], "result": result}).encode() + b"\\n")
    out.flush()
"""

_BARE_ENCODE = {"base85": lambda b: base64.b85encode(b).decode(), "base16": bytes.hex}
_BARE_DECODE = {"base85": base64.b85decode, "base16": bytes.fromhex}

# TVM v0.14 measured on this kind of machine (TVM v0.14 no longer installs, so it is not rerun).
TVM = {"cold": "40-70", "calls": "14,000-22,000", "transport": "7-9"}


class BarePeer:
    """The other end of the bare ping-pong."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BARE_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._next_id = 0

    def call(self, request: dict) -> object:
        self._next_id += 1
        request["id"] = self._next_id
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        assert reply["id"] == self._next_id
        return reply["result"]

    def write(self, encoding: str) -> None:
        self.call({"write": _BARE_ENCODE[encoding](PAYLOAD), "encoding": encoding})

    def read(self, encoding: str) -> bytes:
        return _BARE_DECODE[encoding](
            self.call({"read": PAYLOAD_BYTES, "encoding": encoding})["data"]
        )

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)
        self.process.stdout.close()


def _rate(action: Callable[[], object], seconds: float) -> float:
    """Actions per second over one run of about ``seconds``."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            action()
        count += 20
    return count / elapsed


def _best_rates(
    ours: Callable[[], object], bare: Callable[[], object], seconds: float, repeats: int
) -> tuple[float, float]:
    """Best rate of each side over ``repeats`` alternating runs (so both see the same load)."""
    best_ours = best_bare = 0.0
    for _ in range(repeats):
        best_ours = max(best_ours, _rate(ours, seconds))
        best_bare = max(best_bare, _rate(bare, seconds))
    return best_ours, best_bare


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _our_first_reply(project: pathlib.Path) -> None:
    with client.instantiate_from_dir(project) as api:
        api.server_info_query("0.14.0")


def _bare_first_reply() -> None:
    peer = BarePeer()
    peer.call({})
    peer.close()


def _measure(project: pathlib.Path, seconds: float, repeats: int) -> tuple[dict, str]:
    """{measure: (ours, bare)} and the negotiated encoding."""
    _our_first_reply(project)  # compiles and caches server.py, as a project's first launch does
    cold = [
        (_seconds(lambda: _our_first_reply(project)), _seconds(_bare_first_reply))
        for _ in range(COLD_STARTS)
    ]
    figures = {"cold": tuple(statistics.median(side) * 1000 for side in zip(*cold, strict=True))}
    peer = BarePeer()
    try:
        with client.instantiate_from_dir(project) as api:
            api.open_transport({})
            figures["calls"] = _best_rates(
                api.close_transport, functools.partial(peer.call, {}), seconds, repeats
            )
            for label in ("base85", "negotiated"):
                if label == "negotiated":
                    api.server_info_query("0.14.0")  # from here on the client uses the fastest
                for direction, ours, bare in (
                    (
                        "write",
                        functools.partial(api.write_transport, PAYLOAD, 5.0),
                        functools.partial(peer.write, api.transport_encoding),
                    ),
                    (
                        "read",
                        functools.partial(api.read_transport, PAYLOAD_BYTES, 5.0),
                        functools.partial(peer.read, api.transport_encoding),
                    ),
                ):
                    rates = _best_rates(ours, bare, seconds, repeats)
                    figures[f"{direction} {label}"] = tuple(r * PAYLOAD_BYTES / 1e6 for r in rates)
            assert api.read_transport(PAYLOAD_BYTES, 5.0)["data"] == PAYLOAD
            encoding = api.transport_encoding
    finally:
        peer.close()
    return figures, encoding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed run")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs per figure (best counts)"
    )
    args = parser.parse_args()
    # Cold start as users see it: Python caches the compiled server.py after the first launch.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as temp:
        template, project = pathlib.Path(temp, "template"), pathlib.Path(temp, "project")
        template.mkdir()
        project.mkdir()
        (template / "microtvm_api_server.py").write_text(_NOOP_SERVER)
        generate.copy_helpers(template / "microtvm_api_server.py", project)
        figures, encoding = _measure(project, args.seconds, args.repeats)
    rows = [
        ("cold start to first reply, ms (median)", "cold", TVM["cold"], "<= 40", "{:.1f}"),
        ("no-op round trips per second", "calls", TVM["calls"], ">= 60,000", "{:,.0f}"),
        ("64 KiB writes, base85, MB/s", "write base85", TVM["transport"], ">= 18", "{:.1f}"),
        ("64 KiB reads, base85, MB/s", "read base85", TVM["transport"], ">= 18", "{:.1f}"),
        (
            f"64 KiB writes, {encoding} (negotiated), MB/s",
            "write negotiated",
            "-",
            ">= 100",
            "{:.1f}",
        ),
        (
            f"64 KiB reads, {encoding} (negotiated), MB/s",
            "read negotiated",
            "-",
            ">= 100",
            "{:.1f}",
        ),
    ]
    header = ("measure", "projectapi", "bare JSON lines", "ours/bare", "TVM v0.14", "target")
    table = [header] + [
        (
            label,
            fmt.format(figures[key][0]),
            fmt.format(figures[key][1]),
            f"{figures[key][0] / figures[key][1]:.2f}",
            tvm,
            target,
        )
        for label, key, tvm, target, fmt in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nPython {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load} (other work"
        " on the machine lowers every figure; the ratios hold better). Bare JSON lines use"
        " base64.b85encode/b85decode and bytes.hex/fromhex."
    )


if __name__ == "__main__":
    main()
