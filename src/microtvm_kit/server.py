"""Project API server side: the JSON-RPC 2.0 line protocol a template's server speaks.

Standard library only and Python 3.8+, because it is copied beside every project's
``microtvm_api_server.py``. A template subclasses ``ProjectAPIHandler`` and calls
``main(handler)``; this module owns the wire format (protocol version 1, as TVM v0.14 speaks
it), request validation, the transport data codecs and fd reads and writes with timeouts.
"""

from __future__ import annotations

import abc
import binascii
import collections
import contextlib
import enum
import io
import json
import os
import select
import signal
import sys
import threading
import time

PROTOCOL_VERSION = 1

# Methods an option may list in ProjectOption.required / ProjectOption.optional.
OPTION_METHODS = ("generate_project", "build", "flash", "open_transport")

# Option value types a template may declare (the ones TVM's templates use).
OPTION_TYPES = ("bool", "int", "str")

# Transport encodings this server can speak; base85 is the protocol's default and comes first.
# A client may ask for another one with the extra "encoding" parameter of the transport calls.
TRANSPORT_ENCODINGS = ("base85", "base64", "base16")


class JSONRPCError(Exception):
    """An error reply: a JSON-RPC 2.0 error code, a message and optional data."""

    class ErrorCode(enum.IntEnum):
        """Error codes of JSON-RPC 2.0 (and the one server-defined code the protocol uses)."""

        PARSE_ERROR = -32700
        INVALID_REQUEST = -32600
        METHOD_NOT_FOUND = -32601
        INVALID_PARAMS = -32602
        INTERNAL_ERROR = -32603
        SERVER_ERROR = -32000

    def __init__(
        self, code: int, message: str, data: object = None, client_context: object = None
    ) -> None:
        super().__init__(code, message, data)
        self.code = code
        self.message = message
        self.data = data
        self.client_context = client_context  # what the client was doing, for its messages

    def __str__(self) -> str:
        return str(self.message)

    def to_json(self) -> dict:
        """The ``error`` member of a reply."""
        return {"code": int(self.code), "message": self.message, "data": self.data}


ErrorCode = JSONRPCError.ErrorCode


class ServerError(JSONRPCError):
    """An exception raised by the handler, sent as SERVER_ERROR named by its class."""

    @classmethod
    def from_exception(cls, exc: BaseException, **kw: object) -> ServerError:
        """A ServerError for ``exc``: message is the exception class name, data its traceback."""
        import traceback  # only on the error path: keeps server start-up fast

        kw.setdefault("message", type(exc).__name__)
        error = cls(**kw)  # type: ignore[arg-type]
        error.set_traceback("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        return error

    def __init__(
        self, message: str | None = None, data: dict | None = None, client_context: object = None
    ) -> None:
        super().__init__(
            ErrorCode.SERVER_ERROR,
            type(self).__name__ if message is None else message,
            {} if data is None else data,
            client_context,
        )

    def set_traceback(self, traceback: str) -> None:
        """Attach the server-side traceback text sent as ``data.traceback``."""
        if not isinstance(self.data, dict):
            self.data = {}
        self.data["traceback"] = traceback


class TransportClosedError(ServerError):
    """The transport's other end closed (EOF, closed pipe, device gone)."""


class IoTimeoutError(ServerError):
    """A transport read or write did not complete within its timeout."""


class UnsupportedTVMVersionError(ServerError):
    """The server cannot work with the client's TVM version."""


class HandlerResultError(ServerError):
    """The handler returned a value of the wrong type for its method."""


# project_type: what a generated project's device runs (e.g. aot_standalone, host_driven), for
# projectapi's run; an extra reply key TVM's client ignores, None for templates.
ServerInfo = collections.namedtuple(
    "ServerInfo",
    ["platform_name", "is_template", "model_library_format_path", "project_options", "project_type"],
    defaults=(None,),
)
ServerInfo.__doc__ = (
    "What server_info_query reports: platform, template or not, MLF path, options, project type."
)

TransportTimeouts = collections.namedtuple(
    "TransportTimeouts",
    [
        "session_start_retry_timeout_sec",
        "session_start_timeout_sec",
        "session_established_timeout_sec",
    ],
)
TransportTimeouts.__doc__ = "Timeouts (seconds) a host session should use over this transport."

_OPTION_FIELDS = ("name", "choices", "default", "type", "required", "optional", "help")


def _value_matches_type(value: object, type_name: str) -> bool:
    """Whether a JSON value has the declared option type (bool is not an int here)."""
    if type_name == "bool":
        return isinstance(value, bool)
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


class ProjectOption(collections.namedtuple("_ProjectOption", _OPTION_FIELDS)):
    """One option a template declares: ``required``/``optional`` list the methods using it."""

    __slots__ = ()

    def __new__(
        cls,
        name: str,
        choices: list | tuple | None = None,
        default: object = None,
        type: str | None = None,
        required: list | tuple | None = None,
        optional: list | tuple | None = None,
        help: str | None = None,
    ) -> ProjectOption:
        if not isinstance(name, str) or not name:
            raise ValueError("ProjectOption name must be a non-empty string, got %r" % (name,))
        if type not in OPTION_TYPES:
            raise ValueError(
                "ProjectOption %r: type must be one of %s, got %r" % (name, OPTION_TYPES, type)
            )
        if required is None and optional is None:
            raise ValueError(
                "ProjectOption %r: give required=[...] or optional=[...] (methods from %s)"
                % (name, OPTION_METHODS)
            )
        for field, methods in (("required", required), ("optional", optional)):
            if methods is None:
                continue
            unknown = [m for m in methods if m not in OPTION_METHODS]
            if isinstance(methods, str) or unknown:
                raise ValueError(
                    "ProjectOption %r: %s must be a list of methods from %s, got %r"
                    % (name, field, OPTION_METHODS, methods)
                )
        if choices is not None:
            bad = [c for c in choices if not _value_matches_type(c, type)]
            if isinstance(choices, str) or bad:
                raise ValueError(
                    "ProjectOption %r: choices must be a list of %s values, got %r"
                    % (name, type, choices)
                )
        if default is not None:
            if not _value_matches_type(default, type):
                raise ValueError("ProjectOption %r: default %r is not a %s" % (name, default, type))
            if choices is not None and default not in choices:
                raise ValueError(
                    "ProjectOption %r: default %r is not one of choices %r"
                    % (name, default, list(choices))
                )
        return super().__new__(cls, name, choices, default, type, required, optional, help)

    def replace(self, attributes: dict) -> ProjectOption:
        """A copy with the fields in ``attributes`` changed (validated again)."""
        unknown = sorted(set(attributes) - set(_OPTION_FIELDS))
        if unknown:
            raise ValueError(
                "ProjectOption %r: unknown fields %s; fields are %s"
                % (self.name, unknown, _OPTION_FIELDS)
            )
        fields = self._asdict()
        fields.update(attributes)
        return ProjectOption(**fields)


def default_project_options(**overrides: dict) -> list:
    """The options most templates share; each keyword maps an option name to changed fields."""
    options = [
        ProjectOption(
            "verbose",
            optional=["generate_project", "build"],
            type="bool",
            default=False,
            help="Show the commands the build runs and their full output.",
        ),
        ProjectOption(
            "project_type",
            required=["generate_project"],
            type="str",
            help="Kind of project to generate (the template lists its choices).",
        ),
        ProjectOption(
            "board",
            required=["generate_project"],
            type="str",
            help="Board to build for.",
        ),
        ProjectOption(
            "cmsis_path",
            optional=["generate_project"],
            type="str",
            help="Directory of a CMSIS installation.",
        ),
        ProjectOption(
            "compile_definitions",
            optional=["generate_project"],
            type="str",
            help="Extra preprocessor definitions for the project's compilation.",
        ),
        ProjectOption(
            "extra_files_tar",
            optional=["generate_project"],
            type="str",
            help="A tar archive extracted into the generated project.",
        ),
        ProjectOption(
            "warning_as_error",
            optional=["generate_project"],
            type="bool",
            default=False,
            help="Fail the build on compiler warnings.",
        ),
    ]
    unknown = sorted(set(overrides) - {o.name for o in options})
    if unknown:
        raise ValueError(
            "default_project_options: no default options named %s; known: %s"
            % (unknown, [o.name for o in options])
        )
    return [o.replace(overrides[o.name]) if o.name in overrides else o for o in options]


class ProjectAPIHandler(abc.ABC):
    """What a template implements; each method answers the RPC of the same name."""

    @abc.abstractmethod
    def server_info_query(self, tvm_version: str) -> ServerInfo:
        """Describe this server; may raise UnsupportedTVMVersionError."""

    @abc.abstractmethod
    def generate_project(
        self,
        model_library_format_path: str,
        standalone_crt_dir: str,
        project_dir: str,
        options: dict,
    ) -> None:
        """Create a project in ``project_dir`` from the MLF archive and the runtime sources."""

    @abc.abstractmethod
    def build(self, options: dict) -> None:
        """Build the generated project."""

    @abc.abstractmethod
    def flash(self, options: dict) -> None:
        """Put the built firmware on the device."""

    @abc.abstractmethod
    def open_transport(self, options: dict) -> TransportTimeouts:
        """Open the byte channel to the device and say which session timeouts to use."""

    @abc.abstractmethod
    def close_transport(self) -> None:
        """Close the byte channel; closing a closed transport does nothing."""

    @abc.abstractmethod
    def read_transport(self, n: int, timeout_sec: float | None) -> bytes:
        """Return 1..n bytes; raise IoTimeoutError or TransportClosedError (None: no timeout)."""

    @abc.abstractmethod
    def write_transport(self, data: bytes, timeout_sec: float | None) -> None:
        """Write all of ``data``; raise IoTimeoutError or TransportClosedError."""


# ---- transport codecs -------------------------------------------------------------------------
#
# base64.b85encode/b85decode are pure Python (a few MB/s). These produce identical bytes, but do
# the arithmetic on many 32-bit words at once: the words are spread into fixed-width lanes of one
# big integer, and multiplications by small constants work on every lane in one C-level operation
# (no lane ever overflows into its neighbour).

_B85_ALPHABET = (
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
)
_B85_DIGIT_TO_CHAR = _B85_ALPHABET + bytes(256 - 85)
_B85_CHAR_TO_DIGIT = bytes(
    _B85_ALPHABET.index(c) if c in _B85_ALPHABET else 0xFF for c in range(256)
)
_B85_CHUNK_WORDS = 4096  # words per big-integer pass: 16 KiB of data stays cache-friendly

# Encoding: lane = 9 bytes; word * ceil(2**64 / 85**5) is word / 85**5 as a fixed-point fraction
# with 64 fraction bits. Each multiplication by 85 moves the next base-85 digit into the lane's
# top byte, from where it is collected into an accumulator that shifts one byte per digit. The
# multiplier exceeds 2**64 / 85**5 by d = 0.084, so the error (< d * 2**-32) stays below the
# 85**-5 spacing of true fractions (needs d < 2**32 / 85**5 = 0.968): every digit is exact, and
# 85 * 2**64 < 2**72 keeps each lane inside its 72 bits.
_ENC_LANE = 9
_ENC_MULTIPLIER = -(-(1 << 64) // 85**5) * 85  # the first multiplication by 85 folded in
_ENC_FRACTION_MASK = int.from_bytes((b"\x00" + b"\xff" * 8) * _B85_CHUNK_WORDS, "big")
_ENC_DIGIT_MASK = int.from_bytes((b"\xff" + b"\x00" * 8) * _B85_CHUNK_WORDS, "big")

# Decoding: lane = 5 bytes holding the 5 digits; Horner's rule in 40-bit lanes (85**5 < 2**40).
_DEC_LOW_BYTE_MASK = int.from_bytes(b"\x00\x00\x00\x00\xff" * _B85_CHUNK_WORDS, "big")
_DEC_OVERFLOW_MASK = int.from_bytes(b"\xff\x00\x00\x00\x00" * _B85_CHUNK_WORDS, "big")


def _b85encode_words(chunk: bytes) -> bytearray:
    """Base85 digit values of ``chunk`` (length a multiple of 4), five per 32-bit word."""
    words = len(chunk) // 4
    lanes = bytearray(_ENC_LANE * words)
    for k in range(4):
        lanes[_ENC_LANE - 4 + k :: _ENC_LANE] = chunk[k::4]
    value = int.from_bytes(lanes, "big") * _ENC_MULTIPLIER
    digits = value & _ENC_DIGIT_MASK
    for _ in range(4):
        value = (value & _ENC_FRACTION_MASK) * 85
        digits = (digits >> 8) + (value & _ENC_DIGIT_MASK)
    collected = digits.to_bytes(_ENC_LANE * words, "big")  # lane bytes 0..4: digits 4..0
    out = bytearray(5 * words)
    for k in range(5):
        out[k::5] = collected[4 - k :: _ENC_LANE]
    return out


def b85encode(data: bytes) -> bytes:
    """``base64.b85encode(data)``, byte for byte, many times faster."""
    padding = -len(data) % 4
    if padding:
        data = bytes(data) + bytes(padding)
    step = 4 * _B85_CHUNK_WORDS
    out = bytearray()
    for start in range(0, len(data), step):
        out += _b85encode_words(data[start : start + step])
    if padding:
        del out[len(out) - padding :]
    return bytes(out.translate(_B85_DIGIT_TO_CHAR))


def _b85decode_groups(digits: bytes) -> bytes:
    """Bytes of base85 digit values ``digits`` (length a multiple of 5, each value < 85)."""
    lanes = int.from_bytes(digits, "big")
    value = (lanes >> 32) & _DEC_LOW_BYTE_MASK
    for shift in (24, 16, 8, 0):
        value = value * 85 + ((lanes >> shift) & _DEC_LOW_BYTE_MASK)
    if value & _DEC_OVERFLOW_MASK:
        raise ValueError("base85 overflow: a 5-character group exceeds 2**32 - 1")
    out = bytearray(value.to_bytes(len(digits), "big"))
    del out[0::5]
    return bytes(out)


def b85decode(text: str | bytes) -> bytes:
    """``base64.b85decode(text)``, byte for byte, many times faster; ValueError on bad input."""
    if isinstance(text, str):
        try:
            text = text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise ValueError(
                "base85 text contains a non-ASCII character at %d" % exc.start
            ) from None
    padding = -len(text) % 5
    digits = bytes(text).translate(_B85_CHAR_TO_DIGIT) + b"\x54" * padding
    bad = digits.find(b"\xff")
    if bad >= 0:
        raise ValueError("bad base85 character %r at position %d" % (chr(text[bad]), bad))
    step = 5 * _B85_CHUNK_WORDS
    out = b"".join(
        _b85decode_groups(digits[start : start + step]) for start in range(0, len(digits), step)
    )
    return out[: len(out) - padding] if padding else out


def b64encode(data: bytes) -> bytes:
    """Standard base64 without newlines."""
    return binascii.b2a_base64(data, newline=False)


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def b64decode(text: str | bytes) -> bytes:
    """Standard base64; ValueError on any character outside the alphabet."""
    text = _ascii(text, "base64")
    if text.translate(None, _B64_ALPHABET):
        raise ValueError("base64 text contains characters outside the base64 alphabet")
    return binascii.a2b_base64(text)  # binascii.Error (bad padding) is a ValueError


def b16encode(data: bytes) -> bytes:
    """Lower-case hexadecimal: the cheapest encoding for CPython to produce and parse."""
    return binascii.hexlify(data)


def b16decode(text: str | bytes) -> bytes:
    """Hexadecimal (either case); ValueError on anything else, whitespace included."""
    return binascii.unhexlify(text)  # takes ASCII str as it is, ValueError for any other


def _ascii(text: str | bytes, encoding: str) -> bytes:
    """``text`` as ASCII bytes; ValueError naming the encoding when it holds anything else."""
    if isinstance(text, str):
        try:
            return text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise ValueError(
                "%s text contains a non-ASCII character at position %d" % (encoding, exc.start)
            ) from None
    return bytes(text)


# Encoded text never contains '"' or '\\', so it can be put into JSON strings verbatim.
ENCODERS = {"base85": b85encode, "base64": b64encode, "base16": b16encode}
DECODERS = {"base85": b85decode, "base64": b64decode, "base16": b16decode}


# ---- JSON lines -------------------------------------------------------------------------------
#
# The per-message cost of json.dumps/json.loads is mostly wrapper code around the C encoder and
# scanner; these skip it for the values every call carries (ids, null results, flat lines).

_encode_compact = json.JSONEncoder(separators=(",", ":")).encode
_encode_string = json.encoder.encode_basestring_ascii
_scan_value = json.scanner.make_scanner(json.JSONDecoder())


def dumps_compact(value: object) -> str:
    """``value`` as compact JSON text."""
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return _encode_string(value)
    return _encode_compact(value)


def loads_line(line: bytes | bytearray | str) -> object:
    """The JSON value on one line (surrounding whitespace allowed); ValueError if there is none."""
    text = line if isinstance(line, str) else line.decode("utf-8")
    try:
        value, end = _scan_value(text, 0)
    except StopIteration:  # not a value at position 0: let json.loads explain (or skip spaces)
        return json.loads(text)
    if text[end:].strip(" \t\r\n"):
        return json.loads(text)  # raises "Extra data" with the position
    return value


_DATA_KEY = b'"data":"'


def loads_line_with_data(line: bytes | bytearray, container: str) -> object:
    """``loads_line`` for a line whose ``[container]["data"]`` holds encoded transport bytes.

    JSON-scanning a long string costs more than decoding it, so when that string has no escapes
    it is cut out before parsing and put back as ``bytes``; any other line is parsed as usual.
    """
    start = line.find(_DATA_KEY)
    if start >= 0:
        start += len(_DATA_KEY)
        end = line.find(b'"', start)
        if end >= 0 and line.find(b"\\", start, end) < 0:
            value = loads_line(line[:start] + line[end:])
            inner = value.get(container) if isinstance(value, dict) else None
            if isinstance(inner, dict) and inner.get("data") == "":  # it was that very string
                inner["data"] = bytes(line[start:end])
                return value
    return loads_line(line)


# ---- fd reads and writes with timeouts --------------------------------------------------------


def _wait_fd(fd: int, for_write: bool, end: float | None) -> None:
    """Block until ``fd`` is ready (or its other end closed); IoTimeoutError past ``end``.

    The fd is always polled at least once, so a timeout of 0 means "only what is ready now".
    """
    while True:
        remaining = None if end is None else max(0.0, end - time.monotonic())
        if for_write:
            ready = select.select([], [fd], [fd], remaining)
        else:
            ready = select.select([fd], [], [fd], remaining)
        if any(ready):
            return
        if remaining is not None and time.monotonic() >= end:
            raise IoTimeoutError()


def read_with_timeout(fd: int, n: int, timeout_sec: float | None) -> bytes:
    """Read 1..n bytes from ``fd``, waiting at most ``timeout_sec`` (None: forever).

    Raises IoTimeoutError when nothing arrived in time and TransportClosedError on EOF.
    """
    end = None if timeout_sec is None else time.monotonic() + timeout_sec
    while True:
        _wait_fd(fd, False, end)
        try:
            data = os.read(fd, n)
        except BlockingIOError:
            continue
        except OSError as exc:
            raise TransportClosedError(data={"reason": str(exc)}) from exc
        if not data:
            raise TransportClosedError()
        return data


def write_with_timeout(fd: int, data: bytes, timeout_sec: float | None) -> int:
    """Write all of ``data`` to ``fd`` within ``timeout_sec`` (None: forever); return its length.

    Raises IoTimeoutError when the reader does not take the bytes in time (some may have been
    written) and TransportClosedError when the reading end is closed.
    """
    end = None if timeout_sec is None else time.monotonic() + timeout_sec
    # A blocking fd that select() reports writable takes PIPE_BUF bytes without blocking, but a
    # larger write could block past the timeout; a non-blocking fd takes what fits.
    step = len(data) if not os.get_blocking(fd) else getattr(select, "PIPE_BUF", 512)
    view = memoryview(data)
    while view:
        _wait_fd(fd, True, end)
        try:
            written = os.write(fd, view[:step])
        except BlockingIOError:
            continue
        except OSError as exc:
            raise TransportClosedError(data={"reason": str(exc)}) from exc
        view = view[written:]
    return len(data)


# ---- request dispatch -------------------------------------------------------------------------

_STRING = ((str,), "a string", False)
_OBJECT = ((dict,), "an object", False)
_TIMEOUT = ((int, float, type(None)), "a number >= 0 or null", True)
_ENCODING = ((str,), "one of %s" % ", ".join(TRANSPORT_ENCODINGS), False)
_DATA = ((str, bytes), "a string", False)  # bytes: cut out of the line unparsed

# method -> (required params, optional params); each param -> (types, description, non-negative).
_PARAM_SPECS = {
    "server_info_query": ({"tvm_version": _STRING}, {}),
    "generate_project": (
        {
            "model_library_format_path": _STRING,
            "standalone_crt_dir": _STRING,
            "project_dir": _STRING,
            "options": _OBJECT,
        },
        {},
    ),
    "build": ({"options": _OBJECT}, {}),
    "flash": ({"options": _OBJECT}, {}),
    "open_transport": ({"options": _OBJECT}, {}),
    "close_transport": ({}, {}),
    "read_transport": (
        {"n": ((int,), "an integer >= 0", True), "timeout_sec": _TIMEOUT},
        {"encoding": _ENCODING},
    ),
    "write_transport": ({"data": _DATA, "timeout_sec": _TIMEOUT}, {"encoding": _ENCODING}),
}


def _invalid_params(method: str, text: str) -> JSONRPCError:
    """An INVALID_PARAMS error whose message starts with the method name."""
    return JSONRPCError(ErrorCode.INVALID_PARAMS, "%s: %s" % (method, text))


def _check_params(method: str, params: object) -> dict:
    """The validated params of ``method``; JSONRPCError(INVALID_PARAMS) naming what is wrong."""
    if not isinstance(params, dict):
        raise _invalid_params(method, "params must be an object of named parameters")
    required, optional = _PARAM_SPECS[method]
    for name in required:
        if name not in params:
            raise _invalid_params(method, "missing parameter %r (%s)" % (name, required[name][1]))
    for name, value in params.items():
        spec = required.get(name) or optional.get(name)
        if spec is None:
            raise _invalid_params(
                method,
                "unknown parameter %r; parameters are %s"
                % (name, ", ".join(list(required) + list(optional)) or "none"),
            )
        types, what, non_negative = spec
        if (
            not isinstance(value, types)
            or isinstance(value, bool)
            or (non_negative and value is not None and not value >= 0)  # negative or NaN
        ):
            raise _invalid_params(
                method, "parameter %r must be %s, got %s" % (name, what, json.dumps(value)[:80])
            )
    if params.get("encoding", "base85") not in TRANSPORT_ENCODINGS:
        raise _invalid_params(
            method,
            "parameter 'encoding' must be one of %s, got %r"
            % (", ".join(TRANSPORT_ENCODINGS), params["encoding"]),
        )
    return params


def _server_info_result(info: object) -> dict:
    """The server_info_query reply for the handler's ServerInfo."""
    if not isinstance(info, ServerInfo):
        raise HandlerResultError(
            "server_info_query returned %s; it must return server.ServerInfo" % type(info).__name__
        )
    options = info.project_options
    if not isinstance(options, (list, tuple)) or not all(
        isinstance(o, ProjectOption) for o in options
    ):
        raise HandlerResultError(
            "ServerInfo.project_options must be a list of server.ProjectOption"
        )
    result = info._asdict()
    result["project_options"] = [o._asdict() for o in options]
    result["protocol_version"] = PROTOCOL_VERSION
    result["transport_encodings"] = list(TRANSPORT_ENCODINGS)
    return result


def _open_transport_result(timeouts: object) -> dict:
    """The open_transport reply for the handler's TransportTimeouts."""
    if not isinstance(timeouts, TransportTimeouts):
        raise HandlerResultError(
            "open_transport returned %s; it must return server.TransportTimeouts"
            % type(timeouts).__name__
        )
    return {"timeouts": timeouts._asdict()}


def _server_error(exc: Exception) -> ServerError:
    """The SERVER_ERROR reply for an exception the handler raised (data and traceback kept)."""
    data = dict(exc.data) if isinstance(exc, JSONRPCError) and isinstance(exc.data, dict) else {}
    return ServerError.from_exception(exc, data=data)


# Request lines carrying transport data are long; a big buffer reads them in few system calls.
_READ_BUFFER_BYTES = 1 << 18


class _JSONBytes(bytes):
    """A result that is already JSON text, encoded."""


def _raw_writer(file: object) -> object:
    """A function writing all of a bytes reply to ``file`` and pushing it out at once."""
    if isinstance(file, io.RawIOBase):

        def write_all(data: bytes) -> None:
            view = memoryview(data)
            while view:
                view = view[file.write(view) :]

        return write_all

    def write_and_flush(data: bytes) -> None:
        file.write(data)
        file.flush()

    return write_and_flush


class ProjectAPIServer:
    """Reads requests from ``read_file``, calls ``handler``, writes replies to ``write_file``.

    Both files are binary (raw or buffered), one request or reply per line. Invalid requests
    get an error reply and serving goes on; requests without an id (notifications) are not run.
    """

    def __init__(
        self, read_file: object, write_file: object, handler: ProjectAPIHandler, debug: bool = False
    ) -> None:
        self._readline = (
            io.BufferedReader(read_file, _READ_BUFFER_BYTES)
            if isinstance(read_file, io.RawIOBase)
            else read_file
        ).readline
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

    def _server_info_query(self, tvm_version: str) -> dict:
        return _server_info_result(self._handler.server_info_query(tvm_version))

    def _open_transport(self, options: dict) -> dict:
        return _open_transport_result(self._handler.open_transport(options))

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
            raise _invalid_params(
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
            params = _check_params(method, request.get("params", {}))
            try:
                result = function(**params)
            except ServerError as exc:
                raise _server_error(exc) from None
            except JSONRPCError:
                raise
            except Exception as exc:
                raise _server_error(exc) from None
            if type(result) is not _JSONBytes:
                result = dumps_compact(result).encode("utf-8")
            reply = b'{"jsonrpc":"2.0","id":%s,"result":%s}\n' % (
                dumps_compact(request_id).encode("utf-8"),
                result,
            )
        except JSONRPCError as error:
            body = {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}
            reply = _encode_compact(body).encode("utf-8") + b"\n"
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
    goes away even in the middle of a request, and on SIGTERM (``_ClientWatch``).
    """
    read_fd, write_fd, debug = _parse_arguments(sys.argv[1:] if argv is None else argv)
    watch = _ClientWatch(read_fd)
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


# ---- stopping when the client is gone ------------------------------------------------------

# After the request pipe hangs up, how long an idle server gets to read EOF and exit by itself
# before a request still running is interrupted.
_CLIENT_GONE_GRACE_SEC = 0.2


class _ClientWatch:
    """Interrupts a request still running when the client is gone; makes SIGTERM an exit.

    A thread waits for the request pipe to hang up (every writer closed it: the client exited,
    was killed, or closed the pipe). An idle server then reads EOF and returns on its own; a
    request still running (a long read from a device, a build) is interrupted with SIGTERM
    to the main thread, whose handler raises SystemExit so ``finally`` blocks clean up (child
    processes, half-made project directories). POSIX only; elsewhere a no-op.
    """

    def __init__(self, read_fd: int) -> None:
        self.serving = (
            hasattr(select, "poll")
            and hasattr(signal, "pthread_kill")
            and threading.current_thread() is threading.main_thread()
        )
        if not self.serving:
            return
        self._main = threading.get_ident()
        self._lock = threading.Lock()
        signal.signal(signal.SIGTERM, self._exit_on_sigterm)
        threading.Thread(target=self._wait_for_hangup, args=(read_fd,), daemon=True).start()

    def stop(self) -> None:
        """Serving ended: a late hangup or SIGTERM no longer interrupts the clean-up."""
        if self.serving:
            with self._lock:
                self.serving = False

    def _exit_on_sigterm(self, signum: int, frame: object) -> None:
        if self.serving:
            raise SystemExit(128 + signum)

    def _wait_for_hangup(self, read_fd: int) -> None:
        poller = select.poll()
        poller.register(read_fd, 0)  # POLLHUP and POLLERR are reported without asking
        try:
            while not poller.poll():
                pass
        except OSError:
            return
        time.sleep(_CLIENT_GONE_GRACE_SEC)
        with self._lock:
            if self.serving:
                signal.pthread_kill(self._main, signal.SIGTERM)
