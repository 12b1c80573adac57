"""What a valid request looks like, method by method, and what each handler result becomes.

Pure functions: they check a request's params (a JSONRPCError(INVALID_PARAMS) names what is
wrong) and turn the handler's return values into reply results.
"""

from __future__ import annotations

import json

from .errors import WIRE_ERRORS, ErrorCode, HandlerResultError, JSONRPCError, ServerError
from .handler import ServerInfo, TransportTimeouts
from .options import ProjectOption
from .wire_codecs import TRANSPORT_ENCODINGS

PROTOCOL_VERSION = 1

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
    "generate_library": (
        {
            "model_library_format_path": _STRING,
            "standalone_crt_dir": _STRING,
            "library_dir": _STRING,
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


def invalid_params(method: str, text: str) -> JSONRPCError:
    """An INVALID_PARAMS error whose message starts with the method name."""
    return JSONRPCError(ErrorCode.INVALID_PARAMS, "%s: %s" % (method, text))


def check_params(method: str, params: object) -> dict:
    """The validated params of ``method``; JSONRPCError(INVALID_PARAMS) naming what is wrong."""
    if not isinstance(params, dict):
        raise invalid_params(method, "params must be an object of named parameters")
    required, optional = _PARAM_SPECS[method]
    for name in required:
        if name not in params:
            raise invalid_params(method, "missing parameter %r (%s)" % (name, required[name][1]))
    for name, value in params.items():
        spec = required.get(name) or optional.get(name)
        if spec is None:
            raise invalid_params(
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
            raise invalid_params(
                method, "parameter %r must be %s, got %s" % (name, what, json.dumps(value)[:80])
            )
    if params.get("encoding", "base85") not in TRANSPORT_ENCODINGS:
        raise invalid_params(
            method,
            "parameter 'encoding' must be one of %s, got %r"
            % (", ".join(TRANSPORT_ENCODINGS), params["encoding"]),
        )
    return params


def server_info_result(info: object, generates: list) -> dict:
    """The server_info_query reply for the handler's ServerInfo and what the server generates.

    ``generates`` (a list of ``project``/``library``) is a key TVM's client does not read; it
    returns the reply as a dict and looks up only the keys it knows.
    """
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
    result["generates"] = list(generates)
    return result


def open_transport_result(timeouts: object) -> dict:
    """The open_transport reply for the handler's TransportTimeouts."""
    if not isinstance(timeouts, TransportTimeouts):
        raise HandlerResultError(
            "open_transport returned %s; it must return server.TransportTimeouts"
            % type(timeouts).__name__
        )
    return {"timeouts": timeouts._asdict()}


def server_error(exc: Exception) -> ServerError:
    """The SERVER_ERROR reply for an exception the handler raised (data and traceback kept).

    The message names the exception's class; for a subclass of a wire error (say a template's
    own kind of BadArchiveError) it names that wire error, so the client can rebuild it.
    """
    data = dict(exc.data) if isinstance(exc, JSONRPCError) and isinstance(exc.data, dict) else {}
    return ServerError.from_exception(exc, message=wire_name(type(exc)), data=data)


def wire_name(cls: type) -> str:
    """The name an exception class is sent as: its own, or its nearest wire error's."""
    for base in cls.__mro__:
        if WIRE_ERRORS.get(base.__name__) is base:
            return base.__name__
    return cls.__name__
