"""Recognising boards and probes from pyserial's port-info objects, and choosing one port."""

from __future__ import annotations

import json

import pytest
from serial.tools.list_ports_common import ListPortInfo

from projectapi.cli import main
from projectapi.devices import discovery
from projectapi.devices.errors import DeviceError


def port(device: str, vid: int | None = None, pid: int | None = None, serial: str | None = None,
         description: str = "n/a", product: str | None = None) -> ListPortInfo:
    """A ListPortInfo as pyserial builds it for a USB serial port (or a plain UART)."""
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial
    info.description, info.product = description, product
    return info


NUCLEO = port("/dev/ttyACM0", 0x0483, 0x374B, "066DFF485457725187092527",
              "STM32 STLink - ST-Link VCP Ctrl", "STM32 STLink")
MICROBIT = port("/dev/ttyACM1", 0x0D28, 0x0204, "9900000037024e45",
                "BBC micro:bit CMSIS-DAP - mbed Serial Port", "BBC micro:bit CMSIS-DAP")
NRF52DK = port("/dev/ttyACM2", 0x1366, 0x1015, "000683xxxxxx", "J-Link - CDC", "J-Link")
PICOPROBE = port("/dev/ttyACM3", 0x2E8A, 0x000C, "E6614C", "Debug Probe (CMSIS-DAP)")
OTHER_DAP = port("/dev/ttyACM4", 0xC251, 0xF002, None, "LPC-Link CMSIS-DAP", "CMSIS-DAP")
FTDI = port("/dev/ttyUSB0", 0x0403, 0x6001, "A50285BI", "FT232R USB UART")
PLAIN_UART = port("/dev/ttyS0")


@pytest.mark.parametrize(("info", "kind", "probe", "board"), [
    (NUCLEO, "ST-LINK/V2-1", True, "nucleo-f401re"),
    (MICROBIT, "DAPLink (CMSIS-DAP)", True, "microbit"),
    (NRF52DK, "J-Link OB", True, "nrf52840dk"),
    (PICOPROBE, "Raspberry Pi Debug Probe (CMSIS-DAP)", True, None),
    (OTHER_DAP, "CMSIS-DAP", True, None),
    (FTDI, "USB serial adapter (FTDI)", False, None),
    (PLAIN_UART, "unknown", False, None),
])
def test_recognition(info: ListPortInfo, kind: str, probe: bool, board: str | None) -> None:
    device = discovery.describe(info)
    assert device.kind == kind
    assert device.probe is probe
    assert (board in device.boards) if board else device.boards == ()
    assert device.device == info.device
    assert device.serial_number == info.serial_number


def test_vid_pid_and_json_form() -> None:
    device = discovery.describe(NUCLEO)
    assert device.vid_pid == "0483:374b"
    fields = device.as_json()
    assert fields["vid_pid"] == "0483:374b" and "vid" not in fields
    assert json.loads(json.dumps(fields)) == fields
    assert discovery.describe(PLAIN_UART).vid_pid == ""


def test_list_devices_sorts_by_port() -> None:
    devices = discovery.list_devices([FTDI, MICROBIT, NUCLEO])
    assert [d.device for d in devices] == ["/dev/ttyACM0", "/dev/ttyACM1", "/dev/ttyUSB0"]


def test_choose_by_serial_number_vid_pid_or_port() -> None:
    devices = discovery.list_devices([NUCLEO, MICROBIT, FTDI])
    assert discovery.choose(devices, serial_number="9900000037024e45").device == "/dev/ttyACM1"
    assert discovery.choose(devices, vid_pid="0483:374B").device == "/dev/ttyACM0"
    assert discovery.choose(devices, port="/dev/ttyUSB0").kind.startswith("USB serial")


def test_choose_says_what_is_attached() -> None:
    devices = discovery.list_devices([NUCLEO, MICROBIT])
    with pytest.raises(DeviceError, match=r"no serial port matches; attached: /dev/ttyACM0 "
                       r"0483:374b serial 066DFF485457725187092527 \(ST-LINK/V2-1\)"):
        discovery.choose(devices, vid_pid="1366:1015")
    with pytest.raises(DeviceError, match="several serial ports match"):
        discovery.choose(devices + discovery.list_devices([NUCLEO]), vid_pid="0483:374b")
    with pytest.raises(DeviceError, match="VID:PID in hex"):
        discovery.choose(devices, vid_pid="stlink")
    with pytest.raises(DeviceError, match="attached: none"):
        discovery.choose([], serial_number="x")


def test_device_list_command_lists_this_hosts_ports(capsys) -> None:
    """The real listing of this machine: whatever is there, the JSON matches the table."""
    assert main(["device", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["result"]
    assert [d["device"] for d in listed] == [d.device for d in discovery.list_devices()]
    assert main(["device", "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("device") or out.startswith("no serial ports found")
