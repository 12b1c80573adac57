"""The pyserial transport on a real pseudo-terminal: timeouts, partial reads, and a hang-up."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import pytest
from serial.tools.list_ports_common import ListPortInfo

from microtvm_kit import serial_transport
from microtvm_kit.errors import (
    BoardNotFoundError,
    IoTimeoutError,
    ToolchainMissingError,
    TransportClosedError,
    TransportOpenError,
)


@pytest.fixture
def pty_pair():
    """(serial transport open on a pty's slave end, the master's fd) — the master is the
    'device'; the test closes it to unplug."""
    master, slave = os.openpty()
    transport = serial_transport.SerialTransport(os.ttyname(slave))
    os.close(slave)
    transport.open()
    yield transport, master
    transport.close()
    with contextlib.suppress(OSError):  # already unplugged by the test
        os.close(master)


def test_read_returns_what_is_there_up_to_n(pty_pair) -> None:
    transport, device = pty_pair
    os.write(device, b"abc")
    time.sleep(0.05)
    assert transport.read(10, 1.0) == b"abc"
    os.write(device, b"defg")
    time.sleep(0.05)
    assert transport.read(2, 1.0) == b"de"
    assert transport.read(2, 0) == b"fg"


def test_write_reaches_the_device_raw(pty_pair) -> None:
    transport, device = pty_pair
    payload = bytes(range(256))  # raw mode: no byte is translated or eaten
    transport.write(payload, 1.0)
    got = b""
    while len(got) < len(payload):
        got += os.read(device, 512)
    assert got == payload


@pytest.mark.parametrize("timeout", [0, 0.2])
def test_read_times_out(pty_pair, timeout: float) -> None:
    transport, _ = pty_pair
    started = time.monotonic()
    with pytest.raises(IoTimeoutError):
        transport.read(1, timeout)
    assert timeout <= time.monotonic() - started < timeout + 1.0


def test_write_times_out_when_the_device_does_not_read(pty_pair) -> None:
    transport, _ = pty_pair
    with pytest.raises(IoTimeoutError):
        for _ in range(1000):  # the pty's buffer fills: the device holds us off
            transport.write(b"x" * 4096, 0.05)


def test_unplugging_ends_a_blocking_read(pty_pair) -> None:
    transport, device = pty_pair
    threading.Timer(0.3, os.close, (device,)).start()
    with pytest.raises(TransportClosedError, match="went away"):
        transport.read(1, None)
    transport.close()
    with pytest.raises(TransportClosedError, match="not open"):
        transport.read(1, 0)


def test_bad_arguments_and_ports(pty_pair) -> None:
    with pytest.raises(TransportOpenError, match="cannot open serial port /nonexistent/tty"):
        serial_transport.SerialTransport("/nonexistent/tty").open()
    transport, _ = pty_pair
    with pytest.raises(ValueError, match="timeout"):
        transport.read(1, -1)
    with pytest.raises(ValueError, match="timeout"):
        transport.write(b"x", -1)
    with pytest.raises(ValueError, match="read size"):
        transport.read(0, 1.0)


def test_missing_pyserial_names_the_fix(monkeypatch) -> None:
    def no_pyserial(name: str):
        raise ImportError(name)

    monkeypatch.setattr(serial_transport.importlib, "import_module", no_pyserial)
    with pytest.raises(ToolchainMissingError, match="pip install pyserial"):
        serial_transport.SerialTransport("/dev/null").open()


def test_matching_ports_on_pyserial_port_infos() -> None:
    nucleo = ListPortInfo("/dev/ttyACM0", skip_link_detection=True)
    nucleo.vid, nucleo.pid, nucleo.serial_number = 0x0483, 0x374B, "066D"
    adapter = ListPortInfo("/dev/ttyUSB0", skip_link_detection=True)
    adapter.vid, adapter.pid, adapter.serial_number = 0x0403, 0x6001, "A502"
    ports = [nucleo, adapter]
    assert serial_transport.matching_ports(ports, vid_pid="0483:374B") == [nucleo]
    assert serial_transport.matching_ports(ports, serial_number="A502") == [adapter]
    assert serial_transport.matching_ports(ports, serial_number="A502", vid_pid="0483:374b") == []
    with pytest.raises(ValueError, match="VID:PID in hex"):
        serial_transport.matching_ports(ports, vid_pid="nucleo")


def test_matching_any_of_a_boards_usb_ids() -> None:
    """The nRF52840-DK's J-Link OB enumerates as 1366:1015 or, with newer firmware, 1366:1051:
    either is the board's port; a USB ID given by the user replaces the list."""
    older = ListPortInfo("/dev/ttyACM0", skip_link_detection=True)
    older.vid, older.pid = 0x1366, 0x1015
    newer = ListPortInfo("/dev/ttyACM1", skip_link_detection=True)
    newer.vid, newer.pid = 0x1366, 0x1051
    other = ListPortInfo("/dev/ttyACM2", skip_link_detection=True)
    other.vid, other.pid = 0x0D28, 0x0204
    ids = ("1366:1015", "1366:1051")
    assert serial_transport.matching_ports([newer, other], vid_pids=ids) == [newer]
    assert serial_transport.matching_ports([older, newer, other], vid_pids=ids) == [older, newer]
    assert serial_transport.matching_ports([newer], vid_pid="0d28:0204", vid_pids=ids) == []


def test_find_port_names_what_is_attached() -> None:
    """pyserial's real listing of this machine, which has no ST-LINK with this serial."""
    with pytest.raises(BoardNotFoundError, match=r"no serial port matches serial number XYZ.*attached"):
        serial_transport.find_port(serial_number="XYZ", vid_pid="0483:374b")
    with pytest.raises(BoardNotFoundError, match=r"USB ID 1366:1015 or 1366:1051; attached"):
        serial_transport.find_port(vid_pids=("1366:1015", "1366:1051"))
