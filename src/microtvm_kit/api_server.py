"""The Project API server loop: read request lines, call the handler, write reply lines.

``ProjectAPIServer`` serves any pair of binary files: real pipes take the fast path (a big read
buffer, unbuffered writes); file objects that offer only ``read(size)`` and ``write(data)`` (as
TVM's in-memory test pipes do) are read through a small line splitter. ``main`` serves a
template's handler over the pipes named on its command line.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

from . import request_checks
from .client_watch import ClientWatch
from .errors import ErrorCode, HandlerResultError, JSONRPCError, ServerError
from .handler import ProjectAPIHandler, generates
from .json_lines import dumps_compact, encode_compact, loads_line_with_data
from .wire_codecs import DECODERS, ENCODERS

# Request lines carrying transport data are long; a big buffer reads them in few system calls.
_READ_BUFFER_BYTES = 1 << 18


class _JSONBytes(bytes):
    """A result that is already JSON text, encoded."""


def _line_reader(file: object) -> object:
    """A function returning the next line of ``file`` (b"" at its end)."""
    if isinstance(file, io.RawIOBase):
        return io.BufferedReader(file, _READ_BUFFER_BYTES).readline
    readline = getattr(file, "readline", None)
    return readline if readline is not None else _ReadSplitter(file).readline


class _ReadSplitter:
    """Lines out of a file object that has only ``read(size)``, such as an in-memory pipe.

    An empty read is the end of input for now: what has arrived is returned (b"" if nothing),
    and a later call reads again, so a pipe written to after that is served too.
    """

    def __init__(self, file: object) -> None:
        self._file = file
        self._buffer = bytearray()

    def readline(self) -> bytes:
        """The next line with its newline, or what is left when input ends without one."""
        buffer = self._buffer
        scanned = 0
        while True:
            end = buffer.find(b"\n", scanned)
            if end >= 0:
                line = bytes(buffer[: end + 1])
                del buffer[: end + 1]
                return line
            scanned = len(buffer)
            chunk = self._file.read(_READ_BUFFER_BYTES)
            if not chunk:
                line = bytes(buffer)
                buffer.clear()
                return line
            buffer += chunk


def _raw_writer(file: object) -> object:
    """A function writing all of a bytes reply to ``file`` and pushing it out at once."""
    if isinstance(file, io.RawIOBase):

        def write_all(data: bytes) -> None:
            view = memoryview(data)
            while view:
                view = view[file.write(view) :]

        return write_all
    flush = getattr(file, "flush", None)
    if flush is None:  # a minimal file object: what it is given is out
        return file.write

    def write_and_flush(data: bytes) -> None:
        file.write(data)
        flush()

    return write_and_flush


class ProjectAPIServer:
    """Reads requests from ``read_file``, calls ``handler``, writes replies to ``write_file``.

    Both files are binary (raw, buffered, or any object with ``read(size)`` and
    ``write(data)``), one request or reply per line. Invalid requests
    get an error reply and serving goes on; requests without an id (notifications) are not run.
    """

    def __init__(
        self, read_file: object, write_file: object, handler: ProjectAPIHandler, debug: bool = False
    ) -> None:
        self._readline = _line_reader(read_file)
        self._send = _raw_writer(write_file)
        self._handler = handler
        self._debug = debug
        self._methods = {
            "server_info_query": self._server_info_query,
            "generate_project": handler.generate_project,
            "build": handler.build,
            "flash": handler.flash,
            "open_transport": self._open_transport,
            "close_transport": handler.close_transport,
            "read_transport": self._read_transport,
            "write_transport": self._write_transport,
        }
        self._generates = generates(handler)
        if "library" in self._generates:
            self._methods["generate_library"] = handler.generate_library

    def _server_info_query(self, tvm_version: str) -> dict:
        info = self._handler.server_info_query(tvm_version)
        result = request_checks.server_info_result(info, self._generates)
        if not result["is_template"]:
            for key, attribute in (("run_files", "RUN_FILES"), ("startup_files", "STARTUP_FILES")):
                patterns = getattr(self._handler, attribute, None)
                if patterns is not None:
                    result[key] = list(patterns)
        return result

    def _open_transport(self, options: dict) -> dict:
        return request_checks.open_transport_result(self._handler.open_transport(options))

    def _read_transport(self, n: int, timeout_sec: float | None, encoding: str = "base85") -> dict:
        data = self._handler.read_transport(n, timeout_sec)
        if not isinstance(data, (bytes, bytearray)):
            raise HandlerResultError(
                "read_transport returned %s; it must return bytes" % type(data).__name__
            )
        if len(data) > n:
            raise HandlerResultError(
                "read_transport returned %d bytes; at most n=%d are allowed" % (len(data), n)
            )
        # The encoded text needs no JSON escaping: splicing it in skips a slow scan of every byte.
        return _JSONBytes(b'{"data":"%s"}' % ENCODERS[encoding](data))

    def _write_transport(
        self, data: str | bytes, timeout_sec: float | None, encoding: str = "base85"
    ) -> None:
        try:
            raw = DECODERS[encoding](data)
        except ValueError as exc:
            raise request_checks.invalid_params(
                "write_transport", "data is not valid %s: %s" % (encoding, exc)
            ) from None
        self._handler.write_transport(raw, timeout_sec)

    def serve_forever(self) -> None:
        """Answer requests until the client closes either pipe."""
        readline = self._readline
        handle = self._handle_line
        try:
            line = readline()
            while line:
                handle(line)
                line = readline()
        except BrokenPipeError:
            pass  # the client went away while we replied: nothing left to serve

    def serve_one_request(self) -> bool:
        """Read and answer one request; False when the input reached EOF."""
        line = self._readline()
        if not line:
            return False
        self._handle_line(line)
        return True

    def _handle_line(self, line: bytes) -> None:
        """Decode one request line, dispatch it and write the reply (none for notifications)."""
        if self._debug:
            _log("<- %s" % line.rstrip(b"\r\n").decode("utf-8", "replace"))
        request_id = None
        try:
            try:
                request = loads_line_with_data(line, "params")
            except ValueError as exc:  # UnicodeDecodeError is a ValueError too
                raise JSONRPCError(ErrorCode.PARSE_ERROR, "Parse error: %s" % exc) from None
            if not isinstance(request, dict):
                raise JSONRPCError(
                    ErrorCode.INVALID_REQUEST, "Invalid request: a request must be a JSON object"
                )
            if "id" not in request:
                _log(
                    "ignored a notification (request without an id) for method %r: "
                    "give every request an id" % (request.get("method"),)
                )
                return
            request_id = request["id"]
            if isinstance(request_id, (bool, list, dict)):
                request_id = None
                raise JSONRPCError(
                    ErrorCode.INVALID_REQUEST,
                    "Invalid request: id must be a string, number or null",
                )
            method = request.get("method")
            if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
                raise JSONRPCError(
                    ErrorCode.INVALID_REQUEST,
                    'Invalid request: it needs "jsonrpc": "2.0" and a string "method"',
                )
            function = self._methods.get(method)
            if function is None:
                raise JSONRPCError(
                    ErrorCode.METHOD_NOT_FOUND,
                    "Method not found: %r; methods are %s" % (method, ", ".join(self._methods)),
                )
            params = request_checks.check_params(method, request.get("params", {}))
            try:
                result = function(**params)
            except ServerError as exc:
                raise request_checks.server_error(exc) from None
            except JSONRPCError:
                raise
            except Exception as exc:
                raise request_checks.server_error(exc) from None
            if type(result) is not _JSONBytes:
                result = dumps_compact(result).encode("utf-8")
            reply = b'{"jsonrpc":"2.0","id":%s,"result":%s}\n' % (
                dumps_compact(request_id).encode("utf-8"),
                result,
            )
        except JSONRPCError as error:
            body = {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}
            reply = encode_compact(body).encode("utf-8") + b"\n"
        if self._debug:
            _log("-> %s" % reply.rstrip(b"\n").decode("utf-8"))
        self._send(reply)


def _log(text: str) -> None:
    """One line on stderr, where the client shows it (and keeps its tail for error messages)."""
    sys.stderr.write("projectapi server: %s\n" % text)
    sys.stderr.flush()


_USAGE = "usage: microtvm_api_server.py --read-fd FD --write-fd FD [--debug]"
_HELP = (
    "Serve the Project API (protocol version 1): requests arrive on --read-fd, replies leave on\n"
    "--write-fd, one JSON object per line; --debug logs each request and reply to stderr."
)


def _usage_error(text: str) -> None:
    """Exit with status 2 after the usage line and what is wrong (as argparse would)."""
    sys.stderr.write("%s\nerror: %s\n" % (_USAGE, text))
    sys.exit(2)


def _open_fd(option: str, text: str) -> int:
    """The number of an open file descriptor given to ``option``."""
    try:
        fd = int(text)
        os.fstat(fd)
    except (ValueError, OSError):
        _usage_error("%s: %r is not an open file descriptor" % (option, text))
    return fd


def _parse_arguments(argv: list) -> tuple:
    """(read fd, write fd, debug) from ``argv``.

    Parsed by hand: importing argparse would cost a noticeable share of the server's start-up.
    """
    fds = {"--read-fd": None, "--write-fd": None}
    debug = False
    rest = list(argv)
    while rest:
        argument = rest.pop(0)
        name, has_value, value = argument.partition("=")
        if argument in ("-h", "--help"):
            sys.stdout.write("%s\n\n%s\n" % (_USAGE, _HELP))
            sys.exit(0)
        elif argument == "--debug":
            debug = True
        elif name in fds:
            if not has_value:
                if not rest:
                    _usage_error("%s needs a file descriptor number" % name)
                value = rest.pop(0)
            fds[name] = _open_fd(name, value)
        else:
            _usage_error("unrecognized argument %r" % argument)
    missing = [name for name, fd in fds.items() if fd is None]
    if missing:
        _usage_error("the following arguments are required: %s" % ", ".join(missing))
    return fds["--read-fd"], fds["--write-fd"], debug


def main(handler: ProjectAPIHandler, argv: list | None = None) -> None:
    """Serve ``handler`` over the pipes named by ``--read-fd``/``--write-fd`` until EOF.

    The server stops (closing the transport, so a device process goes too) when its client
    goes away even in the middle of a request, and on SIGTERM (``ClientWatch``).
    """
    read_fd, write_fd, debug = _parse_arguments(sys.argv[1:] if argv is None else argv)
    watch = ClientWatch(read_fd)
    try:
        # Nested, not parenthesised: this module must still parse on Python 3.8.
        with open(read_fd, "rb", buffering=_READ_BUFFER_BYTES) as read_file:  # noqa: SIM117
            with open(write_fd, "wb", buffering=0) as write_file:
                ProjectAPIServer(read_file, write_file, handler, debug=debug).serve_forever()
    except BaseException:  # interrupted: stop the device process the transport may hold
        watch.stop()
        with contextlib.suppress(Exception):  # nobody is left to tell
            handler.close_transport()
        raise
    watch.stop()
