"""Serial ports on this host, each recognised from the USB table, and choosing one of them.

``describe`` is pure (it takes pyserial's ``ListPortInfo``); ``list_devices`` asks pyserial for
the ports. ``choose`` picks a port by device path, serial number or VID:PID and says clearly
when none or several match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from microtvm_kit import serial_transport
from projectapi.devices import usb_table
from projectapi.devices.errors import DeviceError


@dataclasses.dataclass(frozen=True)
class SerialDevice:
    """One serial port and what it was recognised as."""

    device: str  # the port to open, e.g. /dev/ttyACM0
    vid: int | None
    pid: int | None
    serial_number: str | None
    description: str
    kind: str  # e.g. "ST-LINK/V2-1", "USB serial adapter (FTDI)", "unknown"
    probe: bool
    boards: tuple[str, ...]

    @property
    def vid_pid(self) -> str:
        """``VVVV:PPPP`` in hex, or empty when the port is not on USB."""
        if self.vid is None or self.pid is None:
            return ""
        return f"{self.vid:04x}:{self.pid:04x}"

    def as_json(self) -> dict[str, Any]:
        """The fields as a JSON object (``vid_pid`` instead of the two numbers)."""
        fields = dataclasses.asdict(self)
        del fields["vid"], fields["pid"]
        fields["vid_pid"] = self.vid_pid
        fields["boards"] = list(self.boards)
        return fields


def describe(port: Any) -> SerialDevice:
    """Recognise one of pyserial's ``ListPortInfo`` objects."""
    product = " ".join(filter(None, (port.description, port.product, port.interface)))
    row = usb_table.lookup(port.vid, port.pid, product)
    return SerialDevice(
        device=port.device,
        vid=port.vid,
        pid=port.pid,
        serial_number=port.serial_number,
        description=port.description or "",
        kind=row.kind if row else "unknown",
        probe=bool(row and row.probe),
        boards=row.boards if row else (),
    )


def list_devices(ports: Iterable[Any] | None = None) -> list[SerialDevice]:
    """Every serial port (pyserial's list unless ``ports`` is given), sorted by device path."""
    if ports is None:
        from serial.tools import list_ports

        ports = list_ports.comports()
    return sorted((describe(port) for port in ports), key=lambda d: d.device)


def choose(
    devices: list[SerialDevice],
    port: str | None = None,
    serial_number: str | None = None,
    vid_pid: str | None = None,
) -> SerialDevice:
    """The one device matching every criterion given; DeviceError listing what is attached."""
    try:
        matches = serial_transport.matching_ports(devices, port, serial_number, vid_pid)
    except ValueError as error:
        raise DeviceError(str(error)) from None
    if len(matches) == 1:
        return matches[0]
    attached = "; ".join(_summary(d) for d in devices) or "none"
    if not matches:
        raise DeviceError(f"no serial port matches; attached: {attached}")
    raise DeviceError(
        "several serial ports match; choose one by serial number or port: "
        + "; ".join(_summary(d) for d in matches)
    )


def _summary(device: SerialDevice) -> str:
    ids = f" {device.vid_pid}" if device.vid_pid else ""
    serial = f" serial {device.serial_number}" if device.serial_number else ""
    return f"{device.device}{ids}{serial} ({device.kind})"
