"""Conformance run against any Project API server, speaking raw JSON-RPC lines to it.

The server is launched as a client would launch it (``microtvm_api_server.py`` with this
interpreter, or the project's launch script) and checked for: the shape of its server_info reply
and option declarations; error replies to invalid requests (bad JSON, a non-object, a wrong
``jsonrpc`` version, unknown and private method names, missing, unexpected and mistyped
parameters), after each of which it must keep serving; dispatch of every method (called without
its parameters, each must answer INVALID_PARAMS, not METHOD_NOT_FOUND); silence on
notifications; and a clean exit when its request pipe closes. Only invalid requests are sent to
generate_project, build and flash, so a conforming server does no work for them.

For a generated project the transport is checked too. ``open_transport`` gets the declared
defaults plus the options given; then a 64-byte probe of printable ASCII is written and read back
for up to two seconds. The probe holds no 0xFF byte (the start of every microTVM frame) and no
``PAR1`` (the standalone link request), so a real device discards it as noise. Getting the
probe back marks an echo transport, for which a read must also time out honestly when nothing is
pending; any other answer, or none, is fine for a real device, as long as every read returns 1
to n bytes or IoTimeoutError within its timeout. After ``close_transport``, reads and writes
must fail with TransportClosedError.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import pathlib
import select
import time
from collections.abc import Callable, Sequence
from typing import Any

from projectapi import client as _client
from projectapi import project as _project
from projectapi.errors import ProjectAPIError
from projectapi.server import OPTION_METHODS, PROTOCOL_VERSION, ErrorCode

# How long any reply to a cheap request may take by default (generous: a loaded CI machine).
REPLY_TIMEOUT_SEC = 10.0
# open_transport may have to start or reset a real device.
OPEN_TRANSPORT_TIMEOUT_SEC = 60.0
# How long the server may take to exit once its request pipe is closed.
SHUTDOWN_TIMEOUT_SEC = 5.0
# Printable ASCII only: no 0xFF (microTVM frame start) and no "PAR1" (standalone link request).
PROBE = bytes(range(0x20, 0x60))
# How long the round trip waits for the probe to come back, and each read's timeout within it.
_ROUND_TRIP_SEC = 2.0
_ROUND_TRIP_READ_TIMEOUT_SEC = 0.5
# The timeout of the read that must time out on an idle echo transport, and the slack allowed.
_IDLE_READ_TIMEOUT_SEC = 0.2
_TIMING_SLACK_SEC = 1.0

_INFO_KEYS = {
    "protocol_version",
    "platform_name",
    "is_template",
    "model_library_format_path",
    "project_options",
}
_TIMEOUT_KEYS = {
    "session_start_retry_timeout_sec",
    "session_start_timeout_sec",
    "session_established_timeout_sec",
}


# "not_run": an earlier check found the server gone; that failure is reported once, there.
STATUSES = ("pass", "fail", "skip", "not_run")


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``status`` is one of STATUSES."""

    name: str
    status: str
    detail: str


class _Failed(Exception):
    """The check failed; the message says how."""


class _Skipped(Exception):
    """The check does not apply; the message says why."""


class _ServerGone(_Failed):
    """The server exited or stopped answering; no later check can run."""


class _Wire:
    """A launched server and raw JSON-RPC lines to and from it, every wait bounded."""

    def __init__(self, project_dir: pathlib.Path, reply_timeout_sec: float) -> None:
        """Launch the server in ``project_dir`` over two fresh pipes, keeping its output.

        ``reply_timeout_sec`` bounds the wait for a reply when a call gives no other limit.
        """
        self.reply_timeout_sec = reply_timeout_sec
        server_read, self._write_fd = os.pipe()
        self._read_fd, server_write = os.pipe()
        try:
            command = _client.server_command(project_dir)  # launched exactly as a client does
            self.process = _client.ServerProcess(
                [*command, "--read-fd", str(server_read), "--write-fd", str(server_write)],
                project_dir,
                (server_read, server_write),
                echo=False,
            )
        except (OSError, ProjectAPIError) as error:
            self._close_fds()
            raise _ServerGone(f"cannot start the server: {error}") from None
        finally:
            os.close(server_read)
            os.close(server_write)
        os.set_blocking(self._read_fd, False)
        self._buffer = b""
        self._next_id = 1

    def send_line(self, line: bytes) -> None:
        """Write one raw request line (``line`` without its newline)."""
        view = memoryview(line + b"\n")
        try:
            while view:
                view = view[os.write(self._write_fd, view) :]
        except OSError:  # BrokenPipeError included
            raise _ServerGone(self._gone("closed its request pipe")) from None

    def read_reply(self, timeout_sec: float | None = None) -> dict[str, Any]:
        """The next reply line as a JSON object, waiting at most ``timeout_sec``."""
        timeout_sec = self.reply_timeout_sec if timeout_sec is None else timeout_sec
        deadline = time.monotonic() + timeout_sec
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _ServerGone(self._gone(f"sent no reply within {timeout_sec:g} s"))
            if select.select([self._read_fd], [], [], remaining)[0]:
                try:
                    chunk = os.read(self._read_fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise _ServerGone(self._gone("closed its reply pipe"))
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            reply = json.loads(line)
        except ValueError:
            raise _Failed(f"the reply is not JSON: {line[:80]!r}") from None
        if not isinstance(reply, dict) or reply.get("jsonrpc") != "2.0":
            raise _Failed(f"the reply is not a JSON-RPC 2.0 object: {line[:80]!r}")
        return reply

    def call(self, method: str, params: Any, timeout_sec: float | None = None) -> dict[str, Any]:
        """Send a request with a fresh id and return its whole reply (id checked)."""
        request_id = self._next_id
        self._next_id += 1
        request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        self.send_line(json.dumps(request).encode())
        reply = self.read_reply(timeout_sec)
        if reply.get("id") != request_id:
            raise _Failed(f"reply id {reply.get('id')!r} does not match request id {request_id}")
        return reply

    def result(self, method: str, params: Any, timeout_sec: float | None = None) -> Any:
        """The ``result`` of a call that must succeed."""
        reply = self.call(method, params, timeout_sec)
        if "error" in reply:
            raise _Failed(f"{method} failed: {_describe_error(reply['error'])}")
        if "result" not in reply:
            raise _Failed(f"the {method} reply has neither result nor error")
        return reply["result"]

    def shutdown(self) -> str:
        """Close the request pipe and wait for the server to exit; say how it went."""
        os.close(self._write_fd)
        self._write_fd = -1
        start = time.monotonic()
        code = self.process.wait(SHUTDOWN_TIMEOUT_SEC)
        if code is None:
            raise _Failed(f"still running {SHUTDOWN_TIMEOUT_SEC:g} s after its request pipe closed")
        if code != 0:
            raise _Failed(self._gone(f"exited with code {code} when its request pipe closed"))
        return f"exited with code 0 in {(time.monotonic() - start) * 1000:.0f} ms"

    def close(self) -> None:
        """Make sure the server is gone and reaped and both pipes are closed."""
        self._close_fds()
        self.process.stop()

    def _close_fds(self) -> None:
        """Close our ends of both pipes (idempotent)."""
        for fd in (self._read_fd, self._write_fd):
            if fd >= 0:
                os.close(fd)
        self._read_fd = self._write_fd = -1

    def _gone(self, what: str) -> str:
        """``what`` happened, with the server's exit status and last output on one line."""
        self.process.wait(0.2)
        return f"the server {what}: " + " | ".join(self.process.describe().splitlines())


def _describe_error(error: Any) -> str:
    """A JSON-RPC error object as ``code message``."""
    if isinstance(error, dict):
        return f"{error.get('code')} {error.get('message')}"
    return repr(error)


def _expect_error(reply: dict[str, Any], codes: Sequence[int], what: str) -> str:
    """Check that ``reply`` is an error with one of ``codes``; return the code's name."""
    error = reply.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        raise _Failed(f"{what}: expected an error reply, got {json.dumps(reply)[:120]}")
    if error.get("code") not in codes:
        names = " or ".join(f"{ErrorCode(code).name} ({code})" for code in codes)
        raise _Failed(f"{what}: expected {names}, got {_describe_error(error)}")
    return ErrorCode(error["code"]).name


def _server_error_name(reply: dict[str, Any]) -> str | None:
    """The exception class name of a SERVER_ERROR reply, else None."""
    error = reply.get("error")
    if isinstance(error, dict) and error.get("code") == ErrorCode.SERVER_ERROR:
        return error.get("message")
    return None


class _Run:
    """One conformance run: launches the server, runs every check, records the results."""

    def __init__(
        self, project_dir: pathlib.Path, option_strings: Sequence[str], reply_timeout_sec: float
    ) -> None:
        """Remember what to check; ``run`` does the work."""
        self._project_dir = project_dir
        self._reply_timeout_sec = reply_timeout_sec
        self._option_strings = option_strings
        self._results: list[CheckResult] = []
        self._gone: str | None = None  # the name of the check that found the server gone
        self._info: dict[str, Any] = {}
        self._wire: _Wire | None = None
        self._transport_open = False
        self._transport_closed = False
        self._echo = False

    def run(self) -> list[CheckResult]:
        """Run every check in order and return the results."""
        try:
            self._record("server starts and answers server_info_query", self._launch)
            for name, check in self._checks():
                self._record(name, check)
        finally:
            if self._wire is not None:
                self._wire.close()
        return self._results

    def _checks(self) -> list[tuple[str, Callable[[], str]]]:
        """The checks after launch, in the order they run."""
        return [
            ("server_info reply has the protocol's shape", self._info_shape),
            ("option declarations are well formed", self._option_declarations),
            ("invalid JSON gets PARSE_ERROR with id null", self._bad_json),
            ("non-object request gets INVALID_REQUEST", self._non_object),
            ("wrong jsonrpc version gets INVALID_REQUEST", self._wrong_version),
            ("unknown method gets METHOD_NOT_FOUND", self._unknown_method),
            ("private method name gets METHOD_NOT_FOUND", self._private_method),
            ("notification gets no reply", self._notification),
            ("missing or unexpected params get INVALID_PARAMS", self._missing_params),
            ("mistyped params get INVALID_PARAMS", self._mistyped_params),
            ("generate_library is served as server_info says", self._library_method),
            ("open_transport returns session timeouts", self._open_transport),
            ("transport round trip", self._round_trip),
            ("idle read times out with IoTimeoutError", self._idle_read),
            ("close_transport succeeds", self._close_transport),
            ("closed transport gives TransportClosedError", self._closed_transport),
            ("server exits cleanly when its pipe closes", self._shutdown),
        ]

    def _record(self, name: str, check: Callable[[], str]) -> None:
        """Run one check and record its outcome; after the server is gone, record it as not run."""
        if self._gone is not None:
            detail = f"the server is gone (see '{self._gone}')"
            self._results.append(CheckResult(name, "not_run", detail))
            return
        try:
            self._results.append(CheckResult(name, "pass", check()))
        except _Skipped as skipped:
            self._results.append(CheckResult(name, "skip", str(skipped)))
        except _ServerGone as gone:
            self._gone = name
            self._results.append(CheckResult(name, "fail", str(gone)))
        except _Failed as failed:
            self._results.append(CheckResult(name, "fail", str(failed)))

    # --- launch and description --------------------------------------------------------------

    def _launch(self) -> str:
        start = time.monotonic()
        self._wire = _Wire(self._project_dir, self._reply_timeout_sec)
        info = self._wire.result("server_info_query", {"tvm_version": _project.TVM_VERSION})
        if not isinstance(info, dict):
            raise _Failed(f"server_info_query returned {type(info).__name__}, not an object")
        self._info = info
        return f"first reply after {(time.monotonic() - start) * 1000:.0f} ms"

    def _info_shape(self) -> str:
        info = self._info
        problems = [f"missing {key!r}" for key in sorted(_INFO_KEYS - info.keys())]
        if info.get("protocol_version") != PROTOCOL_VERSION:
            problems.append(f"protocol_version is {info.get('protocol_version')!r}, not 1")
        if not isinstance(info.get("platform_name"), str) or not info.get("platform_name"):
            problems.append("platform_name is not a non-empty string")
        if not isinstance(info.get("is_template"), bool):
            problems.append("is_template is not a bool")
        if not isinstance(info.get("project_options"), list):
            problems.append("project_options is not a list")
        generates = info.get("generates", ["project"])
        if (
            not isinstance(generates, list)
            or not generates
            or any(kind not in _GENERATED_KINDS for kind in generates)
        ):
            problems.append(f"generates is {generates!r}, not a list from {list(_GENERATED_KINDS)}")
        for key in ("run_files", "startup_files"):
            patterns = info.get(key, [])
            if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
                problems.append(f"{key} is {patterns!r}, not a list of glob patterns")
        mlf = info.get("model_library_format_path")
        if info.get("is_template") is False:
            if not isinstance(mlf, str) or not (self._project_dir / mlf).is_file():
                problems.append(
                    f"model_library_format_path {mlf!r} is not a file in a generated project"
                )
        elif mlf not in (None, ""):
            problems.append(f"a template's model_library_format_path is {mlf!r}, not null")
        if problems:
            raise _Failed("; ".join(problems))
        kind = "template" if info["is_template"] else "generated project"
        made = " and ".join({"project": "projects", "library": "libraries"}[k] for k in generates)
        return f"platform {info['platform_name']!r}, {kind}, generates {made}"

    def _option_declarations(self) -> str:
        declared = self._info.get("project_options")
        if not isinstance(declared, list):
            raise _Failed("project_options is not a list")
        problems: list[str] = []
        names: set[str] = set()
        for raw in declared:
            problems += _option_problems(raw, names)
        if problems:
            raise _Failed("; ".join(problems))
        return f"{len(declared)} declared" + (f": {', '.join(sorted(names))}" if names else "")

    # --- invalid requests ----------------------------------------------------------------------

    def _ping(self) -> None:
        """A valid request after an invalid one must still be answered."""
        try:
            self._wire.result("server_info_query", {"tvm_version": _project.TVM_VERSION})
        except _ServerGone:
            raise
        except _Failed as failed:
            raise _Failed(f"stopped serving after it: {failed}") from None

    def _raw_error(self, line: bytes, codes: Sequence[int], want_null_id: bool) -> str:
        self._wire.send_line(line)
        reply = self._wire.read_reply()
        detail = _expect_error(reply, codes, "reply")
        if want_null_id and reply.get("id", "absent") is not None:
            raise _Failed(f"the error reply's id is {reply.get('id', 'absent')!r}, not null")
        self._ping()
        return f"{detail}; still serving"

    def _bad_json(self) -> str:
        return self._raw_error(
            b'{"jsonrpc": "2.0", "id": 1, "method":', [ErrorCode.PARSE_ERROR], True
        )

    def _non_object(self) -> str:
        return self._raw_error(b'"server_info_query"', [ErrorCode.INVALID_REQUEST], True)

    def _wrong_version(self) -> str:
        request = {"jsonrpc": "1.0", "id": 7, "method": "server_info_query", "params": {}}
        return self._raw_error(json.dumps(request).encode(), [ErrorCode.INVALID_REQUEST], False)

    def _method_not_found(self, method: str) -> str:
        reply = self._wire.call(method, {})
        detail = _expect_error(reply, [ErrorCode.METHOD_NOT_FOUND], f"calling {method!r}")
        self._ping()
        return f"{detail}; still serving"

    def _unknown_method(self) -> str:
        return self._method_not_found("no_such_method")

    def _private_method(self) -> str:
        return self._method_not_found("__init__")

    def _notification(self) -> str:
        request = {
            "jsonrpc": "2.0",
            "method": "server_info_query",
            "params": {"tvm_version": _project.TVM_VERSION},
        }
        self._wire.send_line(json.dumps(request).encode())
        self._ping()  # its reply must be the next line; a reply to the notification would not match
        return "no reply; still serving"

    def _expect_invalid_params(self, cases: list[tuple[str, dict[str, Any]]]) -> str:
        """Each (method, params) must get INVALID_PARAMS; list every one that does not."""
        problems = []
        for method, params in cases:
            reply = self._wire.call(method, params)
            try:
                _expect_error(reply, [ErrorCode.INVALID_PARAMS], f"{method}({json.dumps(params)})")
            except _Failed as failed:
                problems.append(str(failed))
        if problems:
            raise _Failed("; ".join(problems))
        self._ping()
        return f"{len(cases)} requests refused; still serving"

    def _missing_params(self) -> str:
        methods = list(_METHODS_WITH_PARAMS)
        if "library" in self._generates():
            methods.append("generate_library")
        cases = [(method, {}) for method in methods]
        cases.append(("close_transport", {"unexpected": 1}))
        return self._expect_invalid_params(cases)

    def _generates(self) -> list[str]:
        """What the server says it generates (a server that does not say: projects only)."""
        generates = self._info.get("generates", ["project"])
        return generates if isinstance(generates, list) else []

    def _library_method(self) -> str:
        if "library" in self._generates():
            detail = self._expect_invalid_params(
                [
                    ("generate_library", {"model_library_format_path": 1}),
                    ("generate_library", {"project_dir": "x", "options": {}}),
                ]
            )
            return f"generate_library served; {detail}"
        reply = self._wire.call("generate_library", {})
        _expect_error(
            reply, [ErrorCode.METHOD_NOT_FOUND], "generate_library on a projects-only server"
        )
        self._ping()
        return "not offered, and generate_library gets METHOD_NOT_FOUND"

    def _mistyped_params(self) -> str:
        return self._expect_invalid_params(
            [
                ("server_info_query", {"tvm_version": 14}),
                ("build", {"options": ["verbose"]}),
                ("read_transport", {"n": "abc", "timeout_sec": 1.0}),
                ("read_transport", {"n": 1, "timeout_sec": "soon"}),
                ("write_transport", {"data": 12345, "timeout_sec": 1.0}),
            ]
        )

    # --- transport -----------------------------------------------------------------------------

    def _transport_options(self) -> dict[str, Any]:
        """open_transport options: declared defaults plus those given, validated."""
        try:
            declared = [_project.option_from_wire(raw) for raw in self._info["project_options"]]
            given = _project.parse_option_strings(self._option_strings, declared)
            return _project.prepare_options(declared, "open_transport", given)
        except ProjectAPIError as error:
            raise _Skipped(f"cannot open the transport: {error}") from None

    def _open_transport(self) -> str:
        if self._info.get("is_template") is not False:
            raise _Skipped("a template has no transport")
        options = self._transport_options()
        result = self._wire.result(
            "open_transport", {"options": options}, OPEN_TRANSPORT_TIMEOUT_SEC
        )
        self._transport_open = True
        timeouts = result.get("timeouts") if isinstance(result, dict) else None
        if not isinstance(timeouts, dict) or set(timeouts) != _TIMEOUT_KEYS:
            raise _Failed(f"expected {{'timeouts': {sorted(_TIMEOUT_KEYS)}}}, got {result!r}")
        bad = [key for key, value in timeouts.items() if not _is_seconds(value)]
        if bad:
            raise _Failed(f"timeouts that are not numbers >= 0: {', '.join(sorted(bad))}")
        return "session start retry {:g} s, start {:g} s, established {:g} s".format(
            timeouts["session_start_retry_timeout_sec"],
            timeouts["session_start_timeout_sec"],
            timeouts["session_established_timeout_sec"],
        )

    def _require_transport(self) -> None:
        if not self._transport_open:
            raise _Skipped("the transport is not open")

    def _read(self, n: int, timeout_sec: float) -> bytes | None:
        """One read_transport call: its bytes, or None on IoTimeoutError; timing checked."""
        start = time.monotonic()
        reply = self._wire.call(
            "read_transport",
            {"n": n, "timeout_sec": timeout_sec},
            timeout_sec + self._reply_timeout_sec,
        )
        elapsed = time.monotonic() - start
        if elapsed > timeout_sec + _TIMING_SLACK_SEC:
            raise _Failed(f"read_transport(timeout_sec={timeout_sec:g}) took {elapsed:.2f} s")
        if _server_error_name(reply) == "IoTimeoutError":
            return None
        result = reply.get("result")
        if (
            "error" in reply
            or not isinstance(result, dict)
            or not isinstance(result.get("data"), str)
        ):
            raise _Failed(
                f"read_transport: expected {{'data': base85}}, got {json.dumps(reply)[:120]}"
            )
        try:
            data = base64.b85decode(result["data"])
        except ValueError:
            raise _Failed(f"read_transport data is not base85: {result['data'][:40]!r}") from None
        if not 1 <= len(data) <= n:
            raise _Failed(f"read_transport(n={n}) returned {len(data)} bytes")
        return data

    def _round_trip(self) -> str:
        self._require_transport()
        payload = base64.b85encode(PROBE).decode("ascii")
        self._wire.result("write_transport", {"data": payload, "timeout_sec": 5.0})
        received = b""
        deadline = time.monotonic() + _ROUND_TRIP_SEC
        while len(received) < len(PROBE) and time.monotonic() < deadline:
            data = self._read(len(PROBE) - len(received), _ROUND_TRIP_READ_TIMEOUT_SEC)
            if data is None:
                break
            received += data
        if received == PROBE:
            self._echo = True
            return f"{len(PROBE)}-byte probe written and echoed back"
        if not received:
            return "probe written; nothing came back (not an echo transport), reads timed out"
        return f"probe written; {len(received)} other bytes came back (not an echo transport)"

    def _idle_read(self) -> str:
        self._require_transport()
        if not self._echo:
            raise _Skipped("only checked on an echo transport (a device may send at any time)")
        start = time.monotonic()
        data = self._read(1, _IDLE_READ_TIMEOUT_SEC)
        if data is not None:
            raise _Failed(f"an idle echo transport returned {data!r}")
        return f"IoTimeoutError after {(time.monotonic() - start) * 1000:.0f} ms"

    def _close_transport(self) -> str:
        self._require_transport()
        self._wire.result("close_transport", {})
        self._transport_open = False
        self._transport_closed = True
        return "closed"

    def _closed_transport(self) -> str:
        if not self._transport_closed:
            raise _Skipped("the transport was not opened and closed")
        replies = {
            "read_transport": self._wire.call("read_transport", {"n": 1, "timeout_sec": 0.1}),
            "write_transport": self._wire.call(
                "write_transport", {"data": base64.b85encode(b"x").decode(), "timeout_sec": 0.1}
            ),
        }
        wrong = [
            f"{method} gave {_describe_error(reply.get('error', reply.get('result')))}"
            for method, reply in replies.items()
            if _server_error_name(reply) != "TransportClosedError"
        ]
        if wrong:
            raise _Failed("; ".join(wrong))
        return "read and write both refused"

    def _shutdown(self) -> str:
        return self._wire.shutdown()


_METHODS_WITH_PARAMS = (
    "server_info_query",
    *(method for method in OPTION_METHODS if method != "generate_library"),
    "read_transport",
    "write_transport",
)
# What server_info's optional ``generates`` may list.
_GENERATED_KINDS = ("project", "library")


def _is_seconds(value: Any) -> bool:
    """A JSON number >= 0 (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _option_problems(raw: Any, seen: set[str]) -> list[str]:
    """What is wrong with one raw option declaration; adds its name to ``seen``."""
    try:
        option = _project.option_from_wire(raw)
    except ProjectAPIError as error:
        return [str(error)]
    problems = [f"option {option.name!r} declared twice"] if option.name in seen else []
    seen.add(option.name)
    if set(option.required or ()) & set(option.optional or ()):
        problems.append(f"option {option.name!r} lists a method as both required and optional")
    return problems


def run_checks(
    dir_or_template: str | os.PathLike[str],
    option_strings: Sequence[str] = (),
    reply_timeout_sec: float = REPLY_TIMEOUT_SEC,
) -> list[CheckResult]:
    """Run every check against the server of a project directory or built-in template.

    ``option_strings`` (``KEY=VALUE``, typed by the declared options) go to ``open_transport``.
    A server that does not answer a request within ``reply_timeout_sec`` (open_transport:
    OPEN_TRANSPORT_TIMEOUT_SEC) fails that check and is stopped; the rest are not run.
    """
    project_dir = _project.find_project_dir(dir_or_template)
    return _Run(project_dir, option_strings, reply_timeout_sec).run()
