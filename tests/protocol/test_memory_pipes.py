"""Server and client over minimal in-memory pipes, as TVM's own Project API unit tests build them.

The pipe objects have only readable(), writable(), seekable(), closed, read(size=-1) and
write(data): no readline, no fileno, not io.RawIOBase. The client writes a request, its
``testonly_did_write_request`` hook makes the server answer it, and the client reads the reply.
"""

from __future__ import annotations

import pytest

from projectapi import client, server


class MemoryPipe:
    """An in-memory byte pipe with only the methods TVM's test pipes have."""

    closed = False

    def __init__(self) -> None:
        self.data = bytearray()
        self.read_position = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytearray:
        available = len(self.data) - self.read_position
        count = available if size == -1 else min(size, available)
        start = self.read_position
        self.read_position += count
        return self.data[start : self.read_position]

    def write(self, data: bytes) -> None:
        self.data.extend(data)


class RecordingHandler(server.ProjectAPIHandler):
    """Answers every call; remembers the calls; fails where a test asks it to."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.read_error: Exception | None = None

    def server_info_query(self, tvm_version: str) -> server.ServerInfo:
        options = [server.ProjectOption("foo", type="str", optional=["build"], help="Option foo")]
        return server.ServerInfo("memory", True, "./model.tar", options)

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir, options):
        self.calls.append(("generate_project", project_dir))

    def build(self, options: dict) -> None:
        self.calls.append(("build", options))

    def flash(self, options: dict) -> None:
        self.calls.append(("flash", options))

    def open_transport(self, options: dict) -> server.TransportTimeouts:
        self.calls.append(("open_transport", options))
        return server.TransportTimeouts(1.0, 2.0, 3.0)

    def close_transport(self) -> None:
        self.calls.append(("close_transport",))

    def read_transport(self, n: int, timeout_sec: float | None) -> bytes:
        self.calls.append(("read_transport", n, timeout_sec))
        if self.read_error is not None:
            raise self.read_error
        return b"foo\x1b"

    def write_transport(self, data: bytes, timeout_sec: float | None) -> None:
        self.calls.append(("write_transport", data, timeout_sec))


@pytest.fixture
def memory_pair() -> tuple[client.ProjectAPIClient, RecordingHandler, server.ProjectAPIServer]:
    """A client and server joined by two MemoryPipes; the server answers as each request lands."""
    to_server, to_client = MemoryPipe(), MemoryPipe()
    handler = RecordingHandler()
    api_server = server.ProjectAPIServer(to_server, to_client, handler)
    answered: list[bool] = []
    api_client = client.ProjectAPIClient(
        to_client,
        to_server,
        testonly_did_write_request=lambda: answered.append(api_server.serve_one_request()),
    )
    yield api_client, handler, api_server
    assert all(answered), "the server failed to read a request the client wrote"


def test_every_call_works_over_minimal_memory_pipes(memory_pair) -> None:
    api_client, handler, _ = memory_pair
    info = api_client.server_info_query("0.14.0")
    assert info["platform_name"] == "memory"
    assert info["protocol_version"] == 1
    assert info["project_options"][0]["name"] == "foo"
    api_client.build({"foo": "x"})
    api_client.flash({})
    assert api_client.open_transport({}) == {
        "timeouts": {
            "session_start_retry_timeout_sec": 1.0,
            "session_start_timeout_sec": 2.0,
            "session_established_timeout_sec": 3.0,
        }
    }
    assert api_client.read_transport(128, 5.0) == {"data": b"foo\x1b"}
    assert api_client.write_transport(b"bar\x00", 5.0) is None
    api_client.close_transport()
    assert handler.calls == [
        ("build", {"foo": "x"}),
        ("flash", {}),
        ("open_transport", {}),
        ("read_transport", 128, 5.0),
        ("write_transport", b"bar\x00", 5.0),
        ("close_transport",),
    ]


@pytest.mark.parametrize("error_class", [server.IoTimeoutError, server.TransportClosedError])
def test_transport_errors_arrive_as_their_class(memory_pair, error_class) -> None:
    api_client, handler, _ = memory_pair
    handler.read_error = error_class()
    with pytest.raises(error_class):
        api_client.read_transport(256, 10.0)


def test_an_unknown_handler_error_is_a_server_error_keeping_its_name(memory_pair) -> None:
    api_client, handler, _ = memory_pair
    handler.read_error = KeyError("no such thing")
    with pytest.raises(server.ServerError) as raised:
        api_client.read_transport(1, 1.0)
    assert raised.value.message == "KeyError"
    assert "no such thing" in str(raised.value)


def test_the_server_reads_requests_written_after_it_saw_the_end_of_input() -> None:
    to_server, to_client = MemoryPipe(), MemoryPipe()
    api_server = server.ProjectAPIServer(to_server, to_client, RecordingHandler())
    assert api_server.serve_one_request() is False
    to_server.write(b'{"jsonrpc": "2.0", "method": "flash", "params": {"options": {}}, "id": 7}\n')
    assert api_server.serve_one_request() is True
    assert bytes(to_client.read()) == b'{"jsonrpc":"2.0","id":7,"result":null}\n'
