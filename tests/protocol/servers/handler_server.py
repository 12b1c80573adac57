"""A Project API server for the protocol tests: an in-memory loopback transport, calls logged.

Copied into a test project as microtvm_api_server.py beside a copy of server.py. Every call is
appended to calls.jsonl in the working directory. Options trigger failures: {"crash": code} exits
mid-call, {"hang": seconds} sleeps, {"raise": text} raises ValueError, and open_transport's
{"bad_result": true} / {"read_returns": "text"} make the handler break its contract.
"""

import json
import os
import sys
import time

from microtvm_kit import server


class LoopbackHandler(server.ProjectAPIHandler):
    """Bytes written to the transport are read back; nothing else happens."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._open = False
        self._read_returns = None
        self._log = open("calls.jsonl", "a")  # noqa: SIM115 - open for the server's lifetime

    def _record(self, method: str, **params: object) -> None:
        self._log.write(json.dumps({"method": method, "params": params}) + "\n")
        self._log.flush()

    @staticmethod
    def _act(options: dict) -> None:
        if "crash" in options:
            sys.stderr.write("handler: crashing on purpose\n")
            sys.stderr.flush()
            os._exit(options["crash"])
        if "hang" in options:
            time.sleep(options["hang"])
        if "raise" in options:
            raise ValueError(options["raise"])

    def server_info_query(self, tvm_version: str) -> server.ServerInfo:
        self._record("server_info_query", tvm_version=tvm_version)
        if tvm_version == "0.0":
            raise server.UnsupportedTVMVersionError()
        options = server.default_project_options(board={"choices": ["alpha", "beta"]})
        return server.ServerInfo("loopback", True, None, options)

    def generate_project(
        self,
        model_library_format_path: str,
        standalone_crt_dir: str,
        project_dir: str,
        options: dict,
    ) -> None:
        self._record(
            "generate_project",
            model_library_format_path=model_library_format_path,
            standalone_crt_dir=standalone_crt_dir,
            project_dir=project_dir,
            options=options,
        )
        self._act(options)

    def build(self, options: dict) -> None:
        self._record("build", options=options)
        self._act(options)

    def flash(self, options: dict) -> None:
        self._record("flash", options=options)
        self._act(options)

    def open_transport(self, options: dict) -> server.TransportTimeouts:
        self._record("open_transport", options=options)
        self._act(options)
        self._open = True
        self._read_returns = options.get("read_returns")
        if options.get("bad_result"):
            return None
        return server.TransportTimeouts(1.5, 2.5, 3.5)

    def close_transport(self) -> None:
        self._record("close_transport")
        self._open = False

    def read_transport(self, n: int, timeout_sec: float | None) -> bytes:
        if not self._open:
            raise server.TransportClosedError()
        if self._read_returns is not None:
            return self._read_returns
        if not self._pending:
            raise server.IoTimeoutError()
        data = bytes(self._pending[:n])
        del self._pending[:n]
        return data

    def write_transport(self, data: bytes, timeout_sec: float | None) -> None:
        self._record("write_transport", size=len(data), timeout_sec=timeout_sec)
        if not self._open:
            raise server.TransportClosedError()
        self._pending += data


if __name__ == "__main__":
    server.main(LoopbackHandler())
