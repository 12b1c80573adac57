"""The client against real server processes: every method, encodings, and servers that fail."""

from __future__ import annotations

import os
import pathlib
import re
import time

import pytest

from projectapi import client, server
from projectapi.errors import ProjectAPIError

from .conftest import logged_calls


def test_every_method_through_the_client(handler_project: pathlib.Path):
    with client.instantiate_from_dir(handler_project) as api:
        info = api.server_info_query("0.14.0")
        assert info["platform_name"] == "loopback" and info["protocol_version"] == 1
        assert api.generate_project("/m.tar", "/crt", "/out", {"board": "alpha"}) is None
        assert api.build({"verbose": True}) is None
        assert api.flash({}) is None
        timeouts = api.open_transport({})["timeouts"]
        assert server.TransportTimeouts(**timeouts) == server.TransportTimeouts(1.5, 2.5, 3.5)
        assert api.write_transport(b"\x00\xffhello", 2.0) is None
        assert api.read_transport(3, 1.0) == {"data": b"\x00\xffh"}
        assert api.read_transport(100, None) == {"data": b"ello"}
        assert api.close_transport() is None
    calls = logged_calls(handler_project)
    assert [c["method"] for c in calls] == [
        "server_info_query",
        "generate_project",
        "build",
        "flash",
        "open_transport",
        "write_transport",
        "close_transport",
    ]
    assert calls[1]["params"]["options"] == {"board": "alpha"}
    assert calls[5]["params"] == {"size": 7, "timeout_sec": 2.0}


@pytest.mark.parametrize("size", [1, 5, 65536, 200_001])
def test_transport_bytes_survive_every_size(handler_project: pathlib.Path, size: int):
    payload = os.urandom(size)
    with client.instantiate_from_dir(handler_project) as api:
        api.open_transport({})
        api.write_transport(payload, None)  # base85: nothing negotiated yet
        assert api.read_transport(size, 1)["data"] == payload
        assert api.transport_encoding == "base85"
        api.server_info_query("0.14.0")  # negotiates the fastest encoding from here on
        assert api.transport_encoding == "base16"
        api.write_transport(b"", None)
        api.write_transport(payload, None)
        assert api.read_transport(size, 1)["data"] == payload
    sizes = [c["params"]["size"] for c in logged_calls(handler_project) if "size" in c["params"]]
    assert sizes == [size, 0, size]


def test_transport_errors_raise_the_server_exception_classes(handler_project: pathlib.Path):
    with client.instantiate_from_dir(handler_project) as api:
        with pytest.raises(server.TransportClosedError) as closed:
            api.read_transport(1, 0.1)
        assert isinstance(closed.value, client.RPCError)
        assert isinstance(closed.value, ProjectAPIError)
        api.open_transport({})
        with pytest.raises(server.IoTimeoutError):
            api.read_transport(1, 0.1)
        with pytest.raises(server.UnsupportedTVMVersionError):
            api.server_info_query("0.0")


def test_handler_exception_message_reaches_the_user(handler_project: pathlib.Path):
    with (
        client.instantiate_from_dir(handler_project) as api,
        pytest.raises(client.RPCError) as error,
    ):
        api.build({"raise": "arm-none-eabi-gcc not found"})
    assert error.value.code == server.ErrorCode.SERVER_ERROR
    assert str(error.value) == (
        "build failed in the Project API server: ValueError: arm-none-eabi-gcc not found"
    )
    assert "Traceback" in error.value.traceback


def test_debug_logs_every_request_and_reply(handler_project: pathlib.Path):
    with client.instantiate_from_dir(handler_project, debug=True, echo_output=False) as api:
        api.flash({"speed": 3})
        api.close_transport()
        api.close()
        output = api.server_process.output_tail()
    assert (
        'projectapi server: <- {"jsonrpc":"2.0","method":"flash","params":{"options":{"speed":3}},"id":1}'
        in output
    )
    assert 'projectapi server: -> {"jsonrpc":"2.0","id":2,"result":null}' in output


def test_rpc_error_is_constructible_with_any_code():
    error = client.RPCError(-1234, "odd", {"x": 1}, "flash")
    assert error.error_code is None and error.code == -1234
    assert "flash failed" in str(error) and "error code -1234" in str(error)
    known = client.rpc_error_from_reply({"code": -32601, "message": "no such method"}, "m")
    assert known.error_code is server.ErrorCode.METHOD_NOT_FOUND
    with pytest.raises(client.ProtocolError):
        client.rpc_error_from_reply({"code": "x"}, "m")


def test_reply_to_an_invalid_call_is_an_rpc_error(handler_project: pathlib.Path):
    with (
        client.instantiate_from_dir(handler_project) as api,
        pytest.raises(client.RPCError) as error,
    ):
        api.read_transport(-1, 1)
    assert error.value.error_code is server.ErrorCode.INVALID_PARAMS
    assert "'n' must be an integer >= 0" in str(error.value)


def test_plain_base85_server_without_the_encoding_extension(raw_project):
    with client.instantiate_from_dir(raw_project("plain_base85")) as api:
        assert "transport_encodings" not in api.server_info_query("0.14.0")
        assert api.transport_encoding == "base85"
        payload = bytes(range(256)) * 100
        api.write_transport(payload, 1.0)
        assert api.read_transport(len(payload), 1.0) == {"data": payload}


def test_server_crashing_mid_call_reports_status_and_output(handler_project: pathlib.Path):
    with client.instantiate_from_dir(handler_project, echo_output=False) as api:
        api.server_info_query("0.14.0")
        with pytest.raises(client.ServerDiedError) as died:
            api.build({"crash": 7})
    message = str(died.value)
    assert "while answering build" in message
    assert "exited with status 7" in message
    assert "handler: crashing on purpose" in message


def test_server_exiting_at_start(raw_project):
    with (
        client.instantiate_from_dir(raw_project("exit_at_start"), echo_output=False) as api,
        pytest.raises(client.ServerDiedError) as died,
    ):
        api.server_info_query("0.14.0")
    assert "exited with status 3" in str(died.value)
    assert "this server cannot start (on purpose)" in str(died.value)


def test_hung_server_hits_the_reply_deadline(handler_project: pathlib.Path, monkeypatch):
    monkeypatch.setattr(client, "CLOSE_EXIT_TIMEOUT_SEC", 0.5)
    with client.instantiate_from_dir(handler_project, reply_timeout=0.3) as api:
        start = time.monotonic()
        with pytest.raises(client.ReplyTimeoutError) as timed_out:
            api.build({"hang": 30})
        assert time.monotonic() - start < 2
        assert "did not answer build within 0.3 s" in str(timed_out.value)
        assert "is still running" in str(timed_out.value)
        started = time.monotonic()
    assert time.monotonic() - started < 3  # the hung server was terminated, not waited for


def test_request_to_a_server_that_stopped_reading_hits_the_deadline(
    handler_project: pathlib.Path, monkeypatch
):
    monkeypatch.setattr(client, "CLOSE_EXIT_TIMEOUT_SEC", 0.5)
    with client.instantiate_from_dir(handler_project, reply_timeout=0.3) as api:
        with pytest.raises(client.ReplyTimeoutError):
            api.build({"hang": 30})
        start = time.monotonic()
        with pytest.raises(client.ReplyTimeoutError, match="did not answer write_transport"):
            api.write_transport(bytes(4 << 20), 0.1)  # far more than a pipe holds
        assert time.monotonic() - start < 2
        with pytest.raises(client.ProtocolError, match="cut off by its deadline"):
            api.close_transport()


def test_late_reply_after_a_timeout_is_skipped(handler_project: pathlib.Path):
    with client.instantiate_from_dir(handler_project, reply_timeout=0.2) as api:
        with pytest.raises(client.ReplyTimeoutError):
            api.build({"hang": 0.5})
        api.reply_timeout = 5
        assert api.flash({}) is None  # the build's late reply is read and discarded first


@pytest.mark.parametrize(
    ("behaviour", "reply_timeout", "error", "fragment"),
    [
        ("garbage", 10, client.ProtocolError, "not a JSON-RPC 2.0 reply: this is not JSON"),
        ("wrong_id", 10, client.ProtocolError, "reply id 101, expected 1"),
        ("partial_line", 0.5, client.ReplyTimeoutError, "did not answer server_info_query"),
        ("close_pipes", 10, client.ServerDiedError, "is still running"),
    ],
)
def test_misbehaving_servers_raise_clear_errors(
    raw_project, monkeypatch, behaviour, reply_timeout, error, fragment
):
    monkeypatch.setattr(client, "CLOSE_EXIT_TIMEOUT_SEC", 0.5)
    project = raw_project(behaviour)
    start = time.monotonic()
    with (
        client.instantiate_from_dir(project, reply_timeout=reply_timeout, echo_output=False) as api,
        pytest.raises(error) as raised,
    ):
        api.server_info_query("0.14.0")
    assert fragment in str(raised.value)
    assert time.monotonic() - start < 8  # no wait ran to a default timeout


def test_endless_line_is_refused(raw_project, monkeypatch):
    monkeypatch.setattr(client, "MAX_REPLY_BYTES", 10)
    project = raw_project("partial_line")
    with (
        client.instantiate_from_dir(project, reply_timeout=5) as api,
        pytest.raises(client.ProtocolError, match="without a newline"),
    ):
        api.build({})


def test_server_ignoring_eof_and_sigterm_is_killed(raw_project, monkeypatch):
    monkeypatch.setattr(client, "CLOSE_EXIT_TIMEOUT_SEC", 0.2)
    monkeypatch.setattr(client, "CLOSE_TERMINATE_TIMEOUT_SEC", 0.2)
    api = client.instantiate_from_dir(raw_project("stubborn"))
    process = api.server_process
    time.sleep(0.2)  # let it install its SIGTERM handler
    api.close()
    assert process.wait(0) == -9
    api.close()  # closing twice is harmless
    with pytest.raises(ProjectAPIError, match="closed"):
        api.build({})


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({}, "has no microtvm_api_server.py"),
        ({"launch_microtvm_api_server.sh": "#!/bin/sh\n"}, "is not executable; run: chmod +x"),
    ],
)
def test_launch_errors_name_the_fix(tmp_path: pathlib.Path, files: dict, fragment: str):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(client.LaunchError, match=re.escape(fragment)):
        client.instantiate_from_dir(tmp_path)
    with pytest.raises(client.LaunchError, match="does not exist"):
        client.instantiate_from_dir(tmp_path / "missing")
