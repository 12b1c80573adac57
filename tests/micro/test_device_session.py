"""The Session over a transport: handshake, timeouts, logs, errors, handles, chunked copies."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

import projectapi
from projectapi.errors import ProjectAPIError
from projectapi.micro import (
    DeviceTerminatedError,
    RemoteError,
    Session,
    SessionError,
    SessionTimeoutError,
)
from projectapi.micro.rpc_codec import CopyFromRemote, CopyToRemote, Syscall

from .fake_crt import DeviceFailure, FakeCRT, FakeLink, NoReply


def open_session(device: FakeCRT | None = None, **kwargs: object) -> tuple[Session, FakeLink]:
    link = FakeLink(device or FakeCRT(), **kwargs.pop("link", {}))  # type: ignore[arg-type]
    return Session(link, **kwargs).open(), link  # type: ignore[arg-type]


def test_package_exports_session_lazily() -> None:
    assert projectapi.Session is Session


def test_global_function_call_and_release() -> None:
    device = FakeCRT()
    device.register("echo", lambda *args: args[0])
    with Session(FakeLink(device)) as session:
        func = session.get_global_func("echo")
        assert func("text") == "text"
        assert func(7) == 7
        func.release()
        func.release()
        assert device.freed == [(device.globals["echo"], 10)]
        with pytest.raises(SessionError, match="was released"):
            func(1)


def test_missing_global_function_is_named() -> None:
    session, _ = open_session()
    with pytest.raises(SessionError, match="no global function 'nope'"):
        session.get_global_func("nope")


def test_device_exception_becomes_remote_error_with_its_message() -> None:
    device = FakeCRT()

    def fail() -> None:
        raise DeviceFailure("deliberate failure")

    device.register("fail", fail)
    session, _ = open_session(device)
    with pytest.raises(
        RemoteError, match="'fail' failed on the device: deliberate failure"
    ) as info:
        session.get_global_func("fail")()
    assert info.value.device_message == "deliberate failure"
    assert isinstance(info.value, ProjectAPIError)


def test_device_logs_are_logged_as_they_arrive(caplog: pytest.LogCaptureFixture) -> None:
    device = FakeCRT()
    session, link = open_session(device)
    device.register("chatty", lambda: link.send_log("working") or 5)
    with caplog.at_level(logging.INFO, logger="projectapi.device"):
        assert session.get_global_func("chatty")() == 5
    assert [r.getMessage() for r in caplog.records if r.name == "projectapi.device"] == ["working"]


def test_device_reset_mid_session_raises_terminated() -> None:
    device = FakeCRT()
    session, link = open_session(device)

    def crash() -> None:
        link.reset()
        raise NoReply

    device.register("crash", crash)
    device.register("ok", lambda: 1)
    ok = session.get_global_func("ok")
    with pytest.raises(DeviceTerminatedError, match="reset or crashed"):
        session.get_global_func("crash")()
    with pytest.raises(SessionError, match="the device terminated the session"):
        ok()


def test_hung_device_raises_timeout() -> None:
    device = FakeCRT()

    def hang() -> None:
        raise NoReply

    device.register("hang", hang)
    session, _ = open_session(device, reply_timeout_sec=0.2)
    started = time.monotonic()
    hang = session.get_global_func("hang")
    with pytest.raises(SessionTimeoutError, match=r"did not reply within 0\.2 s"):
        hang()
    assert time.monotonic() - started < 2
    with pytest.raises(SessionError, match="earlier request timed out"):
        hang()


def test_handshake_is_retried_until_the_device_answers() -> None:
    timeouts = {"session_start_retry_timeout_sec": 0.05, "session_start_timeout_sec": 5}
    session, link = open_session(link={"timeouts": timeouts, "ignore_inits": 2})
    assert link.inits_seen == 3
    session.close()


def test_handshake_gives_up_after_start_timeout() -> None:
    link = FakeLink(FakeCRT(), ignore_inits=1000)
    with pytest.raises(SessionTimeoutError, match=r"handshake within 0\.2 s"):
        Session(link, start_timeout_sec=0.2).open()
    assert not link.is_open


def test_transport_zero_timeouts_get_finite_defaults() -> None:
    from projectapi.micro import device_session

    link = FakeLink(FakeCRT(), timeouts={"session_established_timeout_sec": 0})
    session = Session(link).open()
    assert session._reply_limit == device_session.DEFAULT_REPLY_TIMEOUT_SEC


@pytest.mark.parametrize("packet_size", [300, 2037])
def test_copies_are_chunked_to_the_device_packet_size(packet_size: int) -> None:
    device = FakeCRT(max_packet_size=packet_size)
    session, link = open_session(device)
    values = np.arange(1000, dtype="float32")
    remote = session.array(values)
    np.testing.assert_array_equal(remote.numpy(), values)
    block = packet_size - (44 + 8 * 1)
    writes = [p for p in device.requests if isinstance(p, CopyToRemote)]
    reads = [p for p in device.requests if isinstance(p, CopyFromRemote)]
    assert [w.tensor.byte_offset for w in writes] == list(range(0, 4000, block))
    assert [r.tensor.byte_offset for r in reads] == list(range(0, 4000, block))
    assert all(len(w.data) <= block for w in writes)
    # A whole message (3-byte session header + RPC body) fits the device buffer M + 11.
    assert 3 + link.largest_request <= packet_size + 11
    asks = [
        p
        for p in device.requests
        if isinstance(p, Syscall) and p.args == ("tvm.rpc.server.GetCRTMaxPacketSize",)
    ]
    assert len(asks) == 1


def test_replies_larger_than_2048_bytes_are_received() -> None:
    device = FakeCRT(max_packet_size=16 * 1024 - 11)
    session, _ = open_session(device)
    values = np.random.default_rng(0).random(3000).astype("float32")  # 12000 bytes
    remote = session.array(values)
    np.testing.assert_array_equal(remote.numpy(), values)
    assert sum(isinstance(p, CopyFromRemote) for p in device.requests) == 1


def test_device_without_packet_size_function_gets_one_copy() -> None:
    device = FakeCRT(max_packet_size=None)
    session, _ = open_session(device)
    session.array(np.zeros(5000, dtype="int8"))
    assert sum(isinstance(p, CopyToRemote) for p in device.requests) == 1


def test_array_release_frees_device_memory_and_wrong_arrays_are_refused() -> None:
    device = FakeCRT()
    session, _ = open_session(device)
    with session.empty((2, 3), "int32") as remote:
        assert remote.shape == (2, 3) and remote.dtype == np.dtype("<i4")
        with pytest.raises(SessionError, match="dtype float64"):
            remote.copyfrom(np.zeros((2, 3)))
        with pytest.raises(SessionError, match=r"shape \(4,\)"):
            remote.copyfrom(np.zeros(4, dtype="int32"))
        pointer = remote.tensor.data
    assert pointer not in device.memory


def test_numpy_arrays_must_be_uploaded_before_calls() -> None:
    device = FakeCRT()
    device.register("f", lambda x: None)
    session, _ = open_session(device)
    with pytest.raises(SessionError, match="upload numpy arrays first"):
        session.get_global_func("f")(np.zeros(2))


def test_system_lib_functions_and_nothing_sent_after_close() -> None:
    device = FakeCRT()
    device.modules[device.syslib]["add_one"] = lambda x: x + 1
    session, _ = open_session(device)
    module = session.system_lib()
    assert module.get_function("add_one")(41) == 42
    assert module.find_function("absent") is None
    with pytest.raises(SessionError, match="no function 'absent'"):
        module.get_function("absent")
    count = len(device.requests)
    session.close()
    module.release()
    assert len(device.requests) == count


def test_transport_closing_under_the_session_is_reported() -> None:
    class ClosingLink(FakeLink):
        def read(self, n: int, timeout_sec: float | None) -> bytes:
            raise EOFError("child exited")

    link = ClosingLink(FakeCRT())
    with pytest.raises(DeviceTerminatedError, match=r"transport to the device closed \(child"):
        Session(link).open()


def test_exact_reads_only_ask_for_owed_bytes(caplog: pytest.LogCaptureFixture) -> None:
    device = FakeCRT(max_packet_size=500)
    link = FakeLink(device, strict_reads=True)
    device.register("chatty", lambda: link.send_log("note") or 3)
    with Session(link, exact_reads=True) as session, caplog.at_level(logging.INFO):
        values = np.random.default_rng(1).random(700).astype("float32")
        np.testing.assert_array_equal(session.array(values).numpy(), values)
        assert session.get_global_func("chatty")() == 3
    assert "note" in caplog.messages


def test_timeouts_may_be_an_object_with_attributes() -> None:
    from types import SimpleNamespace

    timeouts = SimpleNamespace(
        session_start_retry_timeout_sec=0.05,
        session_start_timeout_sec=5,
        session_established_timeout_sec=0.3,
    )
    link = FakeLink(FakeCRT(), ignore_inits=1)
    link.timeouts = timeouts  # type: ignore[assignment]
    with Session(link) as session:
        assert link.inits_seen == 2
        assert session._reply_limit == 0.3


def test_importing_the_package_does_not_import_numpy() -> None:
    import subprocess
    import sys

    code = "import sys, projectapi; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_nonpositive_timeouts_are_refused(timeout: float) -> None:
    with pytest.raises(SessionError, match="reply_timeout_sec must be positive"):
        Session(FakeLink(FakeCRT()), reply_timeout_sec=timeout)


def test_time_evaluator_settings_are_checked_before_sending() -> None:
    device = FakeCRT()
    session, _ = open_session(device)
    module = session.system_lib()
    count = len(device.requests)
    with pytest.raises(SessionError, match="repeat must be at least 1, got 0"):
        module.time_evaluator("run", repeat=0)
    assert len(device.requests) == count
