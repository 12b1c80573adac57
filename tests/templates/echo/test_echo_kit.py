"""microtvm_kit.staging and microtvm_kit.process_transport, imported as a template imports them."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import sys
import time
import types

import pytest

import projectapi

_PACKAGE_DIR = pathlib.Path(projectapi.__file__).resolve().parent
# A child that copies stdin to stdout, like the echo template's.
_CAT = "import os\nwhile (d := os.read(0, 65536)):\n    os.write(1, d)\n"


@pytest.fixture
def kit(monkeypatch) -> types.SimpleNamespace:
    """The kit modules and ``microtvm_kit.server``."""
    from microtvm_kit import process_transport, server, staging

    return types.SimpleNamespace(server=server, staging=staging, transport=process_transport)


def test_staged_directory_appears_only_when_complete(tmp_path, kit) -> None:
    final = tmp_path / "project"
    with kit.staging.staged_directory(final) as stage:
        assert stage.parent == tmp_path and stage != final
        (stage / "file.txt").write_text("content")
        assert not final.exists()
    assert (final / "file.txt").read_text() == "content"
    assert [path.name for path in tmp_path.iterdir()] == ["project"]


def test_staged_directory_removes_everything_on_failure(tmp_path, kit) -> None:
    final = tmp_path / "a" / "b" / "project"
    with pytest.raises(RuntimeError, match="boom"), kit.staging.staged_directory(final) as stage:
        (stage / "half-written.c").write_text("int")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_staged_directory_refuses_an_existing_path(tmp_path, kit) -> None:
    final = tmp_path / "project"
    final.mkdir()
    (final / "keep.txt").write_text("mine")
    with (
        pytest.raises(FileExistsError, match="already exists; choose a new path"),
        kit.staging.staged_directory(final),
    ):
        pass
    assert [path.name for path in final.iterdir()] == ["keep.txt"]
    assert [path.name for path in tmp_path.iterdir()] == ["project"]


def test_process_transport_echoes_through_a_child(kit) -> None:
    transport = kit.transport.ProcessTransport([sys.executable, "-c", _CAT])
    transport.open()
    try:
        payload = os.urandom(300_000)
        received = bytearray()
        for start in range(0, len(payload), 32768):
            chunk = payload[start : start + 32768]
            transport.write(chunk, 5.0)
            while len(received) < start + len(chunk):
                data = transport.read(65536, 5.0)
                assert 1 <= len(data) <= 65536
                received += data
        assert bytes(received) == payload
    finally:
        assert transport.close() == 0
    assert transport.close() is None


def test_process_transport_read_times_out_honestly(kit) -> None:
    transport = kit.transport.ProcessTransport([sys.executable, "-c", _CAT])
    transport.open()
    try:
        start = time.monotonic()
        with pytest.raises(kit.server.IoTimeoutError):
            transport.read(10, 0.3)
        assert 0.25 <= time.monotonic() - start < 2.0
        with pytest.raises(kit.server.IoTimeoutError):
            transport.read(10, 0)  # 0: only what is there now, and nothing is
        transport.write(b"ready", 5.0)
        deadline = time.monotonic() + 5.0
        received = b""
        while len(received) < 5 and time.monotonic() < deadline:
            with contextlib.suppress(kit.server.IoTimeoutError):
                received += transport.read(10, 0)
        assert received == b"ready"
    finally:
        transport.close()


def test_process_transport_write_times_out_when_the_child_does_not_read(kit) -> None:
    transport = kit.transport.ProcessTransport(
        [sys.executable, "-c", "import time; time.sleep(30)"]
    )
    transport.open()
    try:
        start = time.monotonic()
        with pytest.raises(kit.server.IoTimeoutError):
            transport.write(bytes(4 << 20), 0.3)
        assert time.monotonic() - start < 2.0
    finally:
        assert transport.close() == -signal.SIGTERM  # it ignored EOF, so it was terminated


def test_process_transport_reports_a_child_that_exited(kit) -> None:
    transport = kit.transport.ProcessTransport([sys.executable, "-c", "pass"])
    transport.open()
    try:
        with pytest.raises(kit.server.TransportClosedError):
            transport.read(1, 5.0)
        with pytest.raises(kit.server.TransportClosedError):
            transport.write(b"x" * 100_000, 5.0)
    finally:
        assert transport.close() == 0


def test_process_transport_closed_and_unstartable(kit, tmp_path) -> None:
    transport = kit.transport.ProcessTransport([str(tmp_path / "no-such-program")])
    with pytest.raises(kit.server.TransportClosedError):
        transport.read(1, 0.1)
    with pytest.raises(kit.server.TransportClosedError):
        transport.write(b"x", 0.1)
    with pytest.raises(kit.server.TransportOpenError, match=r"cannot start .*no-such-program"):
        transport.open()
