"""Project API client: calls a server over two pipes with reply deadlines, and owns its process.

``ProjectAPIClient`` speaks the line protocol of ``projectapi.server`` (TVM v0.14's protocol
version 1) over any pair of binary pipe files. ``instantiate_from_dir`` launches a project's
server and returns a client that stops and reaps it on ``close()``.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import pathlib
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from microtvm_kit import errors as kit_errors
from projectapi import compat, server
from projectapi.errors import ProjectAPIError, ProtocolError
from projectapi.terminal import escape_controls

# The longest single poll() wait; longer deadlines are waited out in slices of this.
_MAX_POLL_MS = 3_600_000.0

# Seconds to wait for the reply of each method when no reply_timeout is given. Queries and
# transport control answer quickly (a server answers server_info_query in milliseconds once
# started, so a hung one is reported soon); generating, building and flashing may run long
# toolchains.
DEFAULT_REPLY_TIMEOUTS = {
    "server_info_query": 10.0,
    "generate_project": 600.0,
    "generate_library": 1200.0,
    "build": 3600.0,
    "flash": 600.0,
    "open_transport": 120.0,
    "close_transport": 60.0,
}

# read_transport/write_transport wait for their own timeout_sec plus this margin for the server to
# answer (timeout_sec None means the caller chose to wait as long as the transport takes).
TRANSPORT_REPLY_MARGIN_SEC = 30.0

# A reply line longer than this is not a reply (a server writing garbage without newlines).
MAX_REPLY_BYTES = 256 * 1024 * 1024

# One read of a reply: a pipe's capacity. (A much larger size costs an allocation big enough to
# be mapped and unmapped on every read.)
_READ_CHUNK_BYTES = 65536

# How much of the server's output (stdout and stderr) is kept for error messages.
STDERR_TAIL_BYTES = 8 * 1024

# After the server closed its pipes, how long it gets to exit before we report it as running.
EXIT_AFTER_EOF_SEC = 0.5

# close(): time the server gets to exit after its pipes close, then after SIGTERM.
CLOSE_EXIT_TIMEOUT_SEC = 5.0
CLOSE_TERMINATE_TIMEOUT_SEC = 2.0
# close() while an interrupt unwinds: how long the server gets after SIGTERM before SIGKILL.
INTERRUPT_STOP_SEC = 1.0

# Preferred transport encodings, best first; base85 is what every server speaks.
_ENCODING_PREFERENCE = ("base16", "base64", "base85")

_LAUNCHER = "launch_microtvm_api_server.bat" if os.name == "nt" else "launch_microtvm_api_server.sh"
_SERVER_SCRIPT = "microtvm_api_server.py"


class ReplyTimeoutError(ProjectAPIError):
    """The server did not answer within the reply deadline."""


class ServerDiedError(ProjectAPIError):
    """The server exited or closed its pipes before answering."""


class LaunchError(ProjectAPIError):
    """The server of a project directory could not be started."""


class RPCError(server.JSONRPCError):
    """The server answered with a JSON-RPC error.

    ``code`` is the integer error code (``error_code`` the matching ``server.ErrorCode``, or None
    for codes the protocol does not define), ``message`` and ``data`` as sent, ``traceback`` the
    server-side traceback text for SERVER_ERROR replies and ``detail`` its last line (the text
    the server's exception carried).
    """

    def __init__(
        self, code: int, message: str, data: Any = None, method: str | None = None
    ) -> None:
        self.code = code
        self.message = message
        self.data = data
        self.method = method
        self.client_context = method
        self.error_code = (
            server.ErrorCode(code) if code in server.ErrorCode._value2member_map_ else None
        )
        self.traceback = data.get("traceback") if isinstance(data, dict) else None
        self.detail = _remote_detail(self.traceback, message) if self.traceback else message
        Exception.__init__(self, self._describe())

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple:
        """Pickle as the reply it came from, so the same class comes back (processes, Ray)."""
        reply = {"code": self.code, "message": self.message, "data": self.data}
        return rpc_error_from_reply, (reply, self.method)

    def _describe(self) -> str:
        call = f"{self.method} failed" if self.method else "the call failed"
        if self.error_code is server.ErrorCode.SERVER_ERROR:
            return f"{call} in the Project API server: {self.message}: {self.detail}"
        name = self.error_code.name if self.error_code else f"error code {self.code}"
        return f"{call}: the server rejected the request ({name}): {self.message}"


class RemoteServerError(RPCError, server.ServerError):
    """A SERVER_ERROR reply naming an exception class we do not know; ``message`` is its name."""


_EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(: |$)")


def _remote_detail(traceback: str, name: str) -> str:
    """The message of the exception at the end of a formatted traceback.

    Its line starts with the class name ``name`` (qualified or not), or, for a subclass sent
    under a wire error's name, with some other class name; the message may span lines.
    """
    lines = traceback.rstrip().splitlines()
    for wanted in (name, None):
        for index in range(len(lines) - 1, -1, -1):
            head, colon, rest = lines[index].partition(": ")
            if not _EXCEPTION_LINE.match(lines[index]):
                continue
            if wanted is None or head.rsplit(".", 1)[-1] == wanted:
                return "\n".join([rest, *lines[index + 1 :]]) if colon else head
    return lines[-1].strip() if lines else name


def _host_error_class(kit_class: type[server.ServerError]) -> type[RPCError]:
    """The class raised on the host for ``kit_class``: both it and an RPCError."""
    return type(kit_class.__name__, (RPCError, kit_class), {"__doc__": kit_class.__doc__})


# SERVER_ERROR replies whose message names one of these error classes raise that class.
REMOTE_ERRORS = {name: _host_error_class(cls) for name, cls in kit_errors.WIRE_ERRORS.items()}


def rpc_error_from_reply(error: Any, method: str | None = None) -> RPCError:
    """The exception for a reply's ``error`` member; ProtocolError if it is malformed."""
    if (
        not isinstance(error, dict)
        or not isinstance(error.get("code"), int)
        or isinstance(error.get("code"), bool)
        or not isinstance(error.get("message"), str)
    ):
        raise ProtocolError(
            f"the server's error reply to {method} is malformed (needs an integer code and a string "
            f"message): {_excerpt(json.dumps(error))}"
        )
    cls = RPCError
    if error["code"] == server.ErrorCode.SERVER_ERROR:
        cls = REMOTE_ERRORS.get(error["message"], RemoteServerError)
    return cls(error["code"], error["message"], error.get("data"), method)


def _excerpt(text: str | bytes | bytearray, limit: int = 200) -> str:
    """The start of ``text`` for an error message."""
    if not isinstance(text, str):
        text = bytes(text[: limit * 4]).decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "..."


class ServerProcess:
    """A launched server: keeps the tail of its output and stops and reaps it on ``stop()``.

    Servers written for TVM find ``tvm.micro.project_api`` even without TVM (``compat``).
    """

    def __init__(
        self,
        args: list[str],
        cwd: pathlib.Path,
        pass_fds: tuple[int, ...],
        echo: bool,
    ) -> None:
        self.args = args
        self._popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=compat.server_environment(),  # tvm.micro.project_api for servers written for TVM
            pass_fds=pass_fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole, spared Ctrl-C
        )
        self._tail = bytearray()
        self._tail_lock = threading.Lock()
        self._echo = echo
        self._reader = threading.Thread(target=self._collect_output, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """Process id of the server."""
        return self._popen.pid

    def _collect_output(self) -> None:
        """Keep the last STDERR_TAIL_BYTES of the server's output and echo it to our stderr,
        control characters escaped (a template must not clear or retitle the user's terminal).

        Runs until every writer of the pipe is gone, then closes it (only this thread reads it).
        """
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        with self._popen.stdout as output:
            while chunk := os.read(output.fileno(), 65536):
                with self._tail_lock:
                    self._tail += chunk
                    del self._tail[:-STDERR_TAIL_BYTES]
                if self._echo:
                    try:
                        sys.stderr.write(escape_controls(decoder.decode(chunk)))
                        sys.stderr.flush()
                    except (AttributeError, OSError, ValueError):  # our stderr is gone
                        self._echo = False  # keep draining, or the server would block

    def output_tail(self) -> str:
        """The last lines the server wrote to stdout/stderr."""
        self._reader.join(0.2)  # let output written just before an exit arrive
        with self._tail_lock:
            return self._tail.decode("utf-8", "replace").strip()

    def wait(self, timeout: float) -> int | None:
        """The exit status once the server exited within ``timeout`` seconds, else None."""
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def describe(self) -> str:
        """Exit status (if exited) and output tail, for error messages."""
        status = self._popen.poll()
        state = "is still running" if status is None else f"exited with status {status}"
        tail = self.output_tail()
        text = f"the server ({' '.join(self.args)}) {state}"
        return text + (f";\nits last output:\n{tail}" if tail else "; it wrote no output")

    def stop(self) -> int:
        """Wait for a clean exit, then SIGTERM, then SIGKILL its process group; always reap it.

        While an interrupt unwinds (Ctrl-C, SIGTERM): SIGTERM at once and less patience, so the
        command ends within INTERRUPT_STOP_SEC; the server's SIGTERM handler still cleans up.
        """
        interrupted = _interrupt_unwinding() is not None
        status = self.wait(0 if interrupted else CLOSE_EXIT_TIMEOUT_SEC)
        terminate_timeout = INTERRUPT_STOP_SEC if interrupted else CLOSE_TERMINATE_TIMEOUT_SEC
        for sig, timeout in ((signal.SIGTERM, terminate_timeout), (signal.SIGKILL, None)):
            if status is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._popen.pid, sig)  # still unreaped, so the group id is still ours
            status = self._popen.wait(timeout) if timeout is None else self.wait(timeout)
        self._reader.join(1.0)  # longer only if the server left children holding its output
        return status


class ProjectAPIClient:
    """Calls a Project API server; each method returns the reply's ``result`` object.

    ``read_file``/``write_file`` are binary files backed by pipes (the write side is made
    non-blocking). Every call waits at most its reply deadline: ``reply_timeout`` seconds when
    given, otherwise DEFAULT_REPLY_TIMEOUTS (transport calls: their timeout_sec plus a margin).
    File objects without a file descriptor (anything with ``read(size)`` and ``write(data)``,
    such as in-memory pipes whose server ``testonly_did_write_request`` runs) are used as they
    are, without deadlines: the reply must be there once the request is written.
    """

    def __init__(
        self,
        read_file: BinaryIO,
        write_file: BinaryIO,
        testonly_did_write_request: Callable[[], None] | None = None,
        *,
        reply_timeout: float | None = None,
        server_process: ServerProcess | None = None,
    ) -> None:
        self.read_file = read_file
        self.write_file = write_file
        self.reply_timeout = reply_timeout
        self.server_process = server_process
        self._testonly_did_write_request = testonly_did_write_request
        self._read_fd = _fileno(read_file)
        self._write_fd = _fileno(write_file)
        if self._read_fd is None or self._write_fd is None:
            self._read_chunk = self._read_chunk_from_file
            self._send = self._send_to_file
        else:
            os.set_blocking(self._write_fd, False)
            self._read_poll = select.poll()
            self._read_poll.register(self._read_fd, select.POLLIN)
            self._write_poll = select.poll()
            self._write_poll.register(self._write_fd, select.POLLOUT)
        self._buffer = bytearray()
        self._next_id = 0
        self._encoding = "base85"
        self._closed = False
        self._unusable = ""  # why no further request can be sent, once that is so

    @property
    def transport_encoding(self) -> str:
        """The encoding of transport data: base85 until server_info_query negotiates another."""
        return self._encoding

    # ---- the RPCs --------------------------------------------------------------------------

    def server_info_query(self, tvm_version: str) -> dict:
        """Describe the server; picks the fastest transport encoding it advertises."""
        reply = self._call("server_info_query", {"tvm_version": tvm_version})
        offered = reply.get("transport_encodings") if isinstance(reply, dict) else None
        if isinstance(offered, list):
            self._encoding = next((e for e in _ENCODING_PREFERENCE if e in offered), "base85")
        return reply

    def generate_project(
        self,
        model_library_format_path: str,
        standalone_crt_dir: str,
        project_dir: str,
        options: dict,
    ) -> Any:
        """Generate a project from an MLF archive into ``project_dir``."""
        return self._call(
            "generate_project",
            {
                "model_library_format_path": model_library_format_path,
                "standalone_crt_dir": standalone_crt_dir,
                "project_dir": project_dir,
                "options": options,
            },
        )

    def generate_library(
        self,
        model_library_format_path: str,
        standalone_crt_dir: str,
        library_dir: str,
        options: dict,
    ) -> Any:
        """Generate a library (model, runtime, header, build glue) into ``library_dir``."""
        return self._call(
            "generate_library",
            {
                "model_library_format_path": model_library_format_path,
                "standalone_crt_dir": standalone_crt_dir,
                "library_dir": library_dir,
                "options": options,
            },
        )

    def build(self, options: dict) -> Any:
        """Build the project."""
        return self._call("build", {"options": options})

    def flash(self, options: dict) -> Any:
        """Flash the built project onto its device."""
        return self._call("flash", {"options": options})

    def open_transport(self, options: dict) -> dict:
        """Open the transport; the reply holds ``{"timeouts": {...}}``."""
        return self._call("open_transport", {"options": options})

    def close_transport(self) -> Any:
        """Close the transport."""
        return self._call("close_transport", b"{}")

    def read_transport(self, n: int, timeout_sec: float | None) -> dict:
        """Read 1..n bytes from the transport: ``{"data": bytes}``."""
        params = {"n": n, "timeout_sec": timeout_sec}
        if self._encoding != "base85":
            params["encoding"] = self._encoding
        timeout = self._transport_timeout(timeout_sec)
        reply = self._call("read_transport", params, timeout, data_reply=True)
        try:
            return {"data": server.DECODERS[self._encoding](reply["data"])}
        except (TypeError, KeyError, ValueError) as exc:
            raise ProtocolError(
                f"read_transport reply does not hold {self._encoding} data: {exc}"
            ) from None

    def write_transport(self, data: bytes, timeout_sec: float | None) -> Any:
        """Write all of ``data`` to the transport."""
        encoded = server.ENCODERS[self._encoding](data)
        extra = b"" if self._encoding == "base85" else b',"encoding":"%s"' % self._encoding.encode()
        # Encoded text needs no JSON escaping; splicing it in avoids a slow scan of every byte.
        timeout = server.dumps_compact(timeout_sec).encode()
        params = b'{"data":"%s","timeout_sec":%s%s}' % (encoded, timeout, extra)
        return self._call("write_transport", params, self._transport_timeout(timeout_sec))

    # ---- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close both pipes; with a launched server, wait for it to exit (or stop it) and reap it."""
        if self._closed:
            return
        self._closed = True
        for file in (self.write_file, self.read_file):
            with contextlib.suppress(OSError):  # a pipe the server broke: closing is all we want
                getattr(file, "close", lambda: None)()
        if self.server_process is not None:
            self.server_process.stop()

    def __enter__(self) -> ProjectAPIClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- request/reply ---------------------------------------------------------------------

    def _transport_timeout(self, timeout_sec: float | None) -> float | None:
        if self.reply_timeout is not None:
            return self.reply_timeout
        return None if timeout_sec is None else timeout_sec + TRANSPORT_REPLY_MARGIN_SEC

    def _call(
        self,
        method: str,
        params: dict | bytes,
        timeout: float | None = None,
        data_reply: bool = False,
    ) -> Any:
        """Send one request and return its result; ``params`` may be ready JSON text (bytes).

        ``timeout`` bounds the transport calls; the others use reply_timeout or their default.
        ``data_reply``: the result holds transport data, returned as encoded ``bytes``.
        """
        if (interrupt := _interrupt_unwinding()) is not None:
            raise interrupt  # clean-up code calling us after Ctrl-C: do not wait on the server
        if self._closed:
            raise ProjectAPIError("this Project API client is closed; launch the server again")
        if self._unusable:
            raise ProtocolError(
                f"this Project API connection is unusable ({self._unusable}); close the client and "
                "launch the server again"
            )
        if method in DEFAULT_REPLY_TIMEOUTS:
            timeout = self.reply_timeout
            if timeout is None:
                timeout = DEFAULT_REPLY_TIMEOUTS[method]
        deadline = None if timeout is None else time.monotonic() + timeout
        self._next_id += 1
        request_id = self._next_id
        if not isinstance(params, bytes):
            params = server.dumps_compact(params).encode("utf-8")
        line = b'{"jsonrpc":"2.0","method":"%s","params":%s,"id":%d}\n' % (
            method.encode(),
            params,
            request_id,
        )
        self._send(line, deadline, method, timeout)
        if self._testonly_did_write_request is not None:
            self._testonly_did_write_request()
        while True:
            reply = self._receive(deadline, method, timeout, data_reply)
            reply_id = reply.get("id")
            if isinstance(reply_id, int) and reply_id < request_id:
                continue  # the late reply to an earlier call that timed out
            if reply_id != request_id and not (reply_id is None and "error" in reply):
                raise ProtocolError(
                    f"the server answered {method} with reply id {reply_id!r}, "
                    f"expected {request_id}"
                )
            if "error" in reply:
                raise rpc_error_from_reply(reply["error"], method)
            if "result" not in reply:
                raise ProtocolError(
                    f"the server's reply to {method} has neither result nor error: {_excerpt(json.dumps(reply))}"
                )
            return reply["result"]

    def _send(
        self, data: bytes, deadline: float | None, method: str, timeout: float | None
    ) -> None:
        """Write all of ``data`` before ``deadline``.

        A request cut off by the deadline leaves half a line in the pipe, after which the server
        can no longer tell requests apart: the client refuses further calls.
        """
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._write_fd, view) :]
            except BlockingIOError:
                try:
                    self._wait(self._write_poll, deadline, method, timeout)
                except ReplyTimeoutError:
                    if len(view) < len(data):
                        self._unusable = f"an earlier {method} request was cut off by its deadline"
                    raise
            except (BrokenPipeError, ConnectionResetError):
                raise self._died(method) from None

    def _send_to_file(
        self, data: bytes, deadline: float | None, method: str, timeout: float | None
    ) -> None:
        """Write ``data`` to a file object without a descriptor (no deadline applies)."""
        self.write_file.write(data)
        flush = getattr(self.write_file, "flush", None)
        if flush is not None:
            flush()

    def _read_chunk(self, deadline: float | None, method: str, timeout: float | None) -> bytes:
        """Some reply bytes from the pipe, waiting until ``deadline``; ServerDiedError at EOF."""
        self._wait(self._read_poll, deadline, method, timeout)
        chunk = os.read(self._read_fd, _READ_CHUNK_BYTES)
        if not chunk:
            raise self._died(method)
        return chunk

    def _read_chunk_from_file(
        self, deadline: float | None, method: str, timeout: float | None
    ) -> bytes:
        """Some reply bytes from a file object without a descriptor; ServerDiedError if none."""
        chunk = self.read_file.read(_READ_CHUNK_BYTES)
        if not chunk:
            raise self._died(method)
        return bytes(chunk)

    def _receive(
        self, deadline: float | None, method: str, timeout: float | None, data_reply: bool
    ) -> dict:
        """The next reply line, parsed and checked to be a JSON-RPC 2.0 object."""
        scanned = 0
        while (end := self._buffer.find(b"\n", scanned)) < 0:
            scanned = len(self._buffer)
            if scanned > MAX_REPLY_BYTES:
                raise ProtocolError(
                    f"the server sent over {MAX_REPLY_BYTES} bytes without a newline while "
                    f"answering {method}; it is not speaking the Project API protocol: "
                    f"{_excerpt(bytes(self._buffer[:200]))}"
                )
            self._buffer += self._read_chunk(deadline, method, timeout)
        line = self._buffer[:end]
        del self._buffer[: end + 1]
        try:
            if data_reply:
                reply = server.loads_line_with_data(line, "result")
            else:
                reply = server.loads_line(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict) or reply.get("jsonrpc") != "2.0":
            raise ProtocolError(
                f"the server answered {method} with a line that is not a JSON-RPC 2.0 reply: {_excerpt(line)}"
            )
        return reply

    def _wait(self, poll: Any, deadline: float | None, method: str, timeout: float | None) -> None:
        """Block until ``poll`` reports its pipe ready; ReplyTimeoutError past ``deadline``."""
        while True:
            if deadline is None:
                events = poll.poll()
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timed_out(method, timeout)
                # poll() takes a C int of milliseconds: wait in slices of at most an hour.
                events = poll.poll(min(remaining * 1000.0 + 1.0, _MAX_POLL_MS))
            if events:
                return

    def _timed_out(self, method: str, timeout: float | None) -> ReplyTimeoutError:
        text = (
            f"the Project API server did not answer {method} within {timeout:.3g} s; it may be hung (if {method} "
            "legitimately takes longer, pass a larger reply_timeout)"
        )
        if self.server_process is not None:
            text += ";\n" + self.server_process.describe()
        return ReplyTimeoutError(text)

    def _died(self, method: str) -> ServerDiedError:
        text = f"the Project API server closed its pipes while answering {method}"
        if self.server_process is not None:
            self.server_process.wait(EXIT_AFTER_EOF_SEC)
            text += ": " + self.server_process.describe()
        return ServerDiedError(text)


def _interrupt_unwinding() -> BaseException | None:
    """The KeyboardInterrupt (or other non-Exception) being handled right now, if any.

    Set while ``with`` blocks and ``finally`` clauses unwind after Ctrl-C or SIGTERM: their
    clean-up calls (close_transport...) must not wait for a server busy with the interrupted
    request, and the server is then stopped without the usual grace period.
    """
    error = sys.exc_info()[1]
    return error if error is not None and not isinstance(error, Exception) else None


def _fileno(file: Any) -> int | None:
    """The file descriptor behind ``file``, or None for a file object that has none."""
    try:
        return file.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None


def server_command(project_dir: pathlib.Path) -> list[str]:
    """The command that starts ``project_dir``'s server, as TVM's client starts it.

    With a launcher script: the launcher, given the server script's path as its first argument
    (TVM's zephyr and arduino launchers require it); otherwise the server script run by this
    interpreter.
    """
    launcher = project_dir / _LAUNCHER
    script = project_dir / _SERVER_SCRIPT
    if launcher.is_file():
        if os.name != "nt" and not os.access(launcher, os.X_OK):
            raise LaunchError(f"{launcher} is not executable; run: chmod +x {launcher}")
        return [str(launcher), str(script)]
    if script.is_file():
        return [sys.executable, str(script)]
    raise LaunchError(
        f"{project_dir} has no {_SERVER_SCRIPT} (nor {_LAUNCHER}); give a template or generated project directory"
    )


def instantiate_from_dir(
    project_dir: str | os.PathLike,
    debug: bool = False,
    reply_timeout: float | None = None,
    *,
    echo_output: bool = True,
) -> ProjectAPIClient:
    """Launch the Project API server of ``project_dir`` and return a client owning it.

    The server runs in ``project_dir`` over two pipes (``--read-fd``/``--write-fd``); its
    stdout and stderr are echoed to our stderr (unless ``echo_output`` is False) and their tail
    kept for error messages. Close the client (or use it as a context manager) to stop the server.
    Without TVM installed, servers written for TVM find ``tvm.micro.project_api`` (see
    ``projectapi.compat``).
    """
    directory = pathlib.Path(project_dir).resolve()
    if not directory.is_dir():
        raise LaunchError(f"project directory {directory} does not exist")
    command = server_command(directory)
    request_read, request_write = os.pipe()
    reply_read, reply_write = os.pipe()
    command += ["--read-fd", str(request_read), "--write-fd", str(reply_write)]
    if debug:
        command.append("--debug")
    try:
        process = ServerProcess(command, directory, (request_read, reply_write), echo_output)
    except OSError as exc:
        os.close(request_write)
        os.close(reply_read)
        raise LaunchError(f"cannot start {command[0]}: {exc}") from None
    finally:
        os.close(request_read)  # the server's ends: only the server holds them now
        os.close(reply_write)
    return ProjectAPIClient(
        os.fdopen(reply_read, "rb", buffering=0),
        os.fdopen(request_write, "wb", buffering=0),
        reply_timeout=reply_timeout,
        server_process=process,
    )
