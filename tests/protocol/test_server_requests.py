"""The server over real pipes: valid and invalid requests, errors, and TVM client compatibility."""

from __future__ import annotations

import base64
import json

import pytest

from projectapi.server import ErrorCode

from .conftest import RawServer, logged_calls

GOOD_PARAMS = {
    "server_info_query": {"tvm_version": "0.14.0"},
    "generate_project": {
        "model_library_format_path": "/m.tar",
        "standalone_crt_dir": "/crt",
        "project_dir": "/p",
        "options": {},
    },
    "build": {"options": {}},
    "flash": {"options": {}},
    "open_transport": {"options": {}},
    "read_transport": {"n": 4, "timeout_sec": None},
    "write_transport": {"data": "", "timeout_sec": 1.5},
    "close_transport": {},
}

# Values of the wrong JSON type for every parameter of every method (booleans are no numbers).
_BAD_BY_TYPE = {str: [1, None, ["s"], True], dict: ["s", 1, None, [], True]}
_BAD_BY_NAME = {"n": ["4", 4.5, None, True], "timeout_sec": ["1", True, [1]]}
WRONG_TYPES = [
    (method, name, bad)
    for method, params in GOOD_PARAMS.items()
    for name, good in params.items()
    for bad in _BAD_BY_NAME.get(name) or _BAD_BY_TYPE[type(good)]
]


def _error(reply: dict, code: int, request_id: object) -> dict:
    assert reply["jsonrpc"] == "2.0"
    assert reply["id"] == request_id
    assert "result" not in reply
    assert reply["error"]["code"] == code, reply
    return reply["error"]


def test_every_method_answers_and_reaches_the_handler(raw_server: RawServer, handler_project):
    for request_id, (method, params) in enumerate(GOOD_PARAMS.items(), start=1):
        if method == "read_transport":
            continue  # covered below: it needs written data to return
        reply = raw_server.call(method, params, request_id)
        assert reply["id"] == request_id and "error" not in reply, reply
    info = raw_server.call("server_info_query", {"tvm_version": "0.14.0"})["result"]
    assert info["protocol_version"] == 1
    assert info["platform_name"] == "loopback"
    assert info["is_template"] is True
    assert info["model_library_format_path"] is None
    assert info["transport_encodings"][0] == "base85"
    board = next(o for o in info["project_options"] if o["name"] == "board")
    assert board == {
        "name": "board",
        "choices": ["alpha", "beta"],
        "default": None,
        "type": "str",
        "required": ["generate_project"],
        "optional": None,
        "help": board["help"],
    }
    assert raw_server.call("open_transport", {"options": {}})["result"] == {
        "timeouts": {
            "session_start_retry_timeout_sec": 1.5,
            "session_start_timeout_sec": 2.5,
            "session_established_timeout_sec": 3.5,
        }
    }
    methods = [c["method"] for c in logged_calls(handler_project)]
    assert methods[:7] == [m for m in GOOD_PARAMS if m != "read_transport"]
    assert logged_calls(handler_project)[1]["params"]["project_dir"] == "/p"


@pytest.mark.parametrize("encoding", ["base85", "base64", "base16"])
def test_transport_round_trip_in_each_encoding(raw_server: RawServer, encoding: str):
    payload = bytes(range(256)) * 3 + b"tail"
    encoded = {
        "base85": base64.b85encode,
        "base64": base64.b64encode,
        "base16": lambda b: b.hex().encode(),
    }[encoding](payload).decode()
    raw_server.call("open_transport", {"options": {}})
    params = {"data": encoded, "timeout_sec": None, "encoding": encoding}
    assert raw_server.call("write_transport", params) == {"jsonrpc": "2.0", "id": 1, "result": None}
    reply = raw_server.call("read_transport", {"n": 10000, "timeout_sec": 1, "encoding": encoding})
    assert reply["result"] == {"data": encoded}


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"{not json\n", ErrorCode.PARSE_ERROR),
        (b"\xff\xfe\n", ErrorCode.PARSE_ERROR),
        (b"[1, 2]\n", ErrorCode.INVALID_REQUEST),
        (b'"just a string"\n', ErrorCode.INVALID_REQUEST),
        (
            b'{"jsonrpc": "2.0", "id": [1], "method": "build", "params": {"options": {}}}\n',
            ErrorCode.INVALID_REQUEST,
        ),
    ],
)
def test_unreadable_requests_get_an_error_with_null_id_and_serving_goes_on(
    raw_server: RawServer, line: bytes, code: int
):
    raw_server.send(line)
    error = _error(raw_server.reply(), code, None)
    assert error["message"]
    assert raw_server.call("build", {"options": {}}, 7)["result"] is None


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        ({"jsonrpc": "2.0", "id": 5, "params": {}}, ErrorCode.INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 5, "method": 3, "params": {}}, ErrorCode.INVALID_REQUEST),
        (
            {"jsonrpc": "1.0", "id": 5, "method": "build", "params": {"options": {}}},
            ErrorCode.INVALID_REQUEST,
        ),
        ({"id": 5, "method": "build", "params": {"options": {}}}, ErrorCode.INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 5, "method": "reboot", "params": {}}, ErrorCode.METHOD_NOT_FOUND),
        (
            {"jsonrpc": "2.0", "id": 5, "method": "__init__", "params": {}},
            ErrorCode.METHOD_NOT_FOUND,
        ),
        (
            {"jsonrpc": "2.0", "id": 5, "method": "_handle_line", "params": {}},
            ErrorCode.METHOD_NOT_FOUND,
        ),
        ({"jsonrpc": "2.0", "id": 5, "method": "build", "params": [{}]}, ErrorCode.INVALID_PARAMS),
        ({"jsonrpc": "2.0", "id": 5, "method": "build"}, ErrorCode.INVALID_PARAMS),
    ],
)
def test_invalid_requests_get_their_error_code(
    raw_server: RawServer, request_body: dict, code: int
):
    raw_server.send(json.dumps(request_body).encode() + b"\n")
    _error(raw_server.reply(), code, 5)
    assert raw_server.call("close_transport", {}, "next")["id"] == "next"


@pytest.mark.parametrize("method", [m for m, p in GOOD_PARAMS.items() if p])
def test_every_parameter_type_is_checked(raw_server: RawServer, method: str):
    checked = 0
    for name, bad in [(name, bad) for m, name, bad in WRONG_TYPES if m == method]:
        params = dict(GOOD_PARAMS[method], **{name: bad})
        error = _error(raw_server.call(method, params, 9), ErrorCode.INVALID_PARAMS, 9)
        assert method in error["message"] and repr(name) in error["message"]
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("method", [m for m, p in GOOD_PARAMS.items() if p])
def test_missing_parameters_are_named(raw_server: RawServer, method: str):
    for name in GOOD_PARAMS[method]:
        params = {k: v for k, v in GOOD_PARAMS[method].items() if k != name}
        error = _error(raw_server.call(method, params, 2), ErrorCode.INVALID_PARAMS, 2)
        assert f"missing parameter {name!r}" in error["message"]


@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("build", {"options": {}, "verbose": True}, "unknown parameter 'verbose'"),
        ("close_transport", {"force": True}, "unknown parameter 'force'"),
        ("read_transport", {"n": -1, "timeout_sec": 1}, "'n' must be an integer >= 0"),
        ("read_transport", {"n": 1, "timeout_sec": -2}, "'timeout_sec' must be a number >= 0"),
        ("write_transport", {"data": "", "timeout_sec": float("nan")}, "'timeout_sec' must be"),
        ("read_transport", {"n": 1, "timeout_sec": 1, "encoding": "rot13"}, "encoding"),
        ("write_transport", {"data": "|NsC0~", "timeout_sec": 1}, "not valid base85"),
        (
            "write_transport",
            {"data": "zz", "timeout_sec": 1, "encoding": "base16"},
            "not valid base16",
        ),
        (
            "write_transport",
            {"data": "QQ=", "timeout_sec": 1, "encoding": "base64"},
            "not valid base64",
        ),
    ],
)
def test_bad_parameter_values_are_refused(
    raw_server: RawServer, method: str, params: dict, fragment: str
):
    error = _error(raw_server.call(method, params, 3), ErrorCode.INVALID_PARAMS, 3)
    assert fragment in error["message"]


def test_notifications_are_not_run_and_get_no_reply(handler_project):
    raw_server = RawServer(handler_project)
    raw_server.send(b'{"jsonrpc": "2.0", "method": "build", "params": {"options": {}}}\n')
    assert raw_server.no_reply_within(0.3)
    assert raw_server.call("flash", {"options": {}}, 4)["id"] == 4
    assert [c["method"] for c in logged_calls(handler_project)] == ["flash"]
    status, stderr = raw_server.close()
    assert status == 0
    assert "ignored a notification (request without an id) for method 'build'" in stderr


def test_handler_exceptions_become_server_errors_named_by_class(raw_server: RawServer):
    error = _error(
        raw_server.call("build", {"options": {"raise": "no compiler"}}, 6),
        ErrorCode.SERVER_ERROR,
        6,
    )
    assert error["message"] == "ValueError"
    assert error["data"]["traceback"].strip().endswith("ValueError: no compiler")
    error = _error(
        raw_server.call("read_transport", {"n": 1, "timeout_sec": 0}, 7), ErrorCode.SERVER_ERROR, 7
    )
    assert error["message"] == "TransportClosedError"
    raw_server.call("open_transport", {"options": {}})
    error = _error(
        raw_server.call("read_transport", {"n": 1, "timeout_sec": 0}, 8), ErrorCode.SERVER_ERROR, 8
    )
    assert error["message"] == "IoTimeoutError"
    error = _error(
        raw_server.call("server_info_query", {"tvm_version": "0.0"}, 9), ErrorCode.SERVER_ERROR, 9
    )
    assert error["message"] == "UnsupportedTVMVersionError"


@pytest.mark.parametrize(
    ("options", "call", "fragment"),
    [
        (
            {"bad_result": True},
            None,
            "open_transport returned NoneType; it must return server.TransportTimeouts",
        ),
        (
            {"read_returns": "text"},
            ("read_transport", {"n": 4, "timeout_sec": 1}),
            "it must return bytes",
        ),
    ],
)
def test_wrong_handler_results_are_clear_server_errors(
    raw_server: RawServer, options, call, fragment
):
    reply = raw_server.call("open_transport", {"options": options}, 1)
    if call is not None:
        reply = raw_server.call(*call, 2)
    error = reply["error"]
    assert error["code"] == ErrorCode.SERVER_ERROR and error["message"] == "HandlerResultError"
    assert fragment in error["data"]["traceback"]
    assert raw_server.call("close_transport", {}, 3)["result"] is None


# Exactly what TVM v0.14's client writes: json.dumps with default separators, ids from 1.
TVM_CLIENT_LINES = [
    b'{"jsonrpc": "2.0", "method": "server_info_query", "params": {"tvm_version": "0.14.0"}, "id": 1}\n',
    b'{"jsonrpc": "2.0", "method": "open_transport", "params": {"options": {}}, "id": 2}\n',
    b'{"jsonrpc": "2.0", "method": "write_transport", "params": {"data": "XmoZCWMfM", "timeout_sec": 5.0}, "id": 3}\n',
    b'{"jsonrpc": "2.0", "method": "read_transport", "params": {"n": 128, "timeout_sec": null}, "id": 4}\n',
    b'{"jsonrpc": "2.0", "method": "close_transport", "params": {}, "id": 5}\n',
]


def test_tvm_client_lines_get_tvm_shaped_replies(raw_server: RawServer):
    replies = []
    for line in TVM_CLIENT_LINES:
        raw_server.send(line)
        replies.append(raw_server.reply())
    assert [r["id"] for r in replies] == [1, 2, 3, 4, 5]
    assert all(r["jsonrpc"] == "2.0" and "error" not in r for r in replies), replies
    info = replies[0]["result"]
    assert {
        "protocol_version",
        "platform_name",
        "is_template",
        "model_library_format_path",
        "project_options",
    } <= set(info)
    assert set(replies[1]["result"]["timeouts"]) == {
        "session_start_retry_timeout_sec",
        "session_start_timeout_sec",
        "session_established_timeout_sec",
    }
    assert base64.b85decode(replies[3]["result"]["data"]) == base64.b85decode("XmoZCWMfM")
    assert replies[2]["result"] is None and replies[4]["result"] is None
