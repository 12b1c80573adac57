"""A serial port (a board's USB UART, or QEMU's pseudo-terminal) as a Project API transport.

pyserial opens, configures (raw, 8N1, the baud rate, an exclusive lock) and drives the port; it is
imported only when a port is opened, so this module stays importable without it (pyserial is a
dependency of projectapi, so a project served by projectapi's Python has it).

``read`` and ``write`` follow the transport contract of ``microtvm_kit.transport`` (its deadline
loop over the port's descriptor, which pyserial opened and configured): when the port goes away (a board unplugged, QEMU gone) they raise
``TransportClosedError``. A port that cannot be opened is a ``TransportOpenError``; a missing
pyserial a ``ToolchainMissingError``; no attached port matching a selection a
``BoardNotFoundError``.
"""

import contextlib
import importlib
import os
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from microtvm_kit import errors
from microtvm_kit.transport import FdTransport

DEFAULT_BAUDRATE = 115200
_PYSERIAL_MISSING = (
    "the serial transport needs pyserial, which is not installed for {}: pip install pyserial"
)


def import_pyserial() -> Any:
    """The ``serial`` package (pyserial), or ToolchainMissingError naming how to install it."""
    try:
        return importlib.import_module("serial")
    except ImportError:
        import sys

        raise errors.ToolchainMissingError(_PYSERIAL_MISSING.format(sys.executable)) from None


def parse_vid_pid(text: str) -> Tuple[int, int]:
    """``VVVV:PPPP`` (hex) as two numbers; ValueError naming the expected form."""
    try:
        vid, pid = (int(part, 16) for part in text.split(":"))
    except ValueError:
        raise ValueError(
            "a USB ID is VID:PID in hex, e.g. 0483:374b; got {!r}".format(text)
        ) from None
    return vid, pid


def matching_ports(
    ports: Iterable[Any],
    port: Optional[str] = None,
    serial_number: Optional[str] = None,
    vid_pid: Optional[str] = None,
    vid_pids: Sequence[str] = (),
) -> List[Any]:
    """The ports (pyserial ``ListPortInfo`` or alike: ``device``, ``vid``, ``pid``,
    ``serial_number``) matching every criterion given; ``vid_pids``: any of these USB IDs (a
    probe whose firmware versions enumerate differently)."""
    wanted = [parse_vid_pid(text) for text in ([vid_pid] if vid_pid else list(vid_pids))]
    return [
        info
        for info in ports
        if (port is None or info.device == port)
        and (serial_number is None or info.serial_number == serial_number)
        and (not wanted or (info.vid, info.pid) in wanted)
    ]


def find_port(
    serial_number: Optional[str] = None,
    vid_pid: Optional[str] = None,
    vid_pids: Sequence[str] = (),
) -> str:
    """The device path of the one attached serial port with this serial number and/or USB
    VID:PID (or any of ``vid_pids``); BoardNotFoundError naming what is attached when none or
    several match."""
    import_pyserial()
    from serial.tools import list_ports

    ports = list_ports.comports()
    found = matching_ports(ports, serial_number=serial_number, vid_pid=vid_pid, vid_pids=vid_pids)
    if len(found) == 1:
        return found[0].device
    attached = "; ".join("{} ({})".format(info.device, info.hwid) for info in ports)
    raise errors.BoardNotFoundError(
        "{} serial port matches serial number {} / USB ID {}; attached: {}".format(
            "no" if not found else "more than one",
            serial_number,
            vid_pid or " or ".join(vid_pids) or None,
            attached or "none",
        )
    )


class SerialTransport(FdTransport):
    """Carry transport bytes over one serial port: pyserial opens and configures it, the
    transport's own deadline loop (``select`` and one non-blocking read or write per wake-up)
    moves the bytes, so no call reconfigures the port for its timeout."""

    def __init__(self, port: str, baudrate: int = DEFAULT_BAUDRATE) -> None:
        """Remember the port (a device path such as /dev/ttyACM0) and its baud rate."""
        super().__init__()
        self.port = port
        self.baudrate = baudrate
        self._serial = None  # type: Any

    @property
    def is_open(self) -> bool:
        """True between a successful ``open`` and ``close``."""
        return self._serial is not None

    def open(self) -> None:
        """Open and configure the port (TransportOpenError naming the port if that fails)."""
        if self._serial is not None:
            raise errors.TransportOpenError(
                "serial port {} is already open; close it first".format(self.port)
            )
        serial = import_pyserial()
        try:
            self._serial = serial.Serial(
                self.port, self.baudrate, timeout=0, write_timeout=0, exclusive=True
            )
        except (serial.SerialException, ValueError) as error:
            raise errors.TransportOpenError(
                "cannot open serial port {}: {}".format(self.port, error)
            ) from None
        fd = self._serial.fileno()
        os.set_blocking(fd, False)
        self.read_fd = self.write_fd = fd

    def close(self) -> None:
        """Close the port; closing a closed transport does nothing."""
        port, self._serial = self._serial, None
        super().close()
        if port is not None:
            with contextlib.suppress(OSError, ValueError):  # the device may already be gone
                port.close()

    def _fd(self, for_write: bool) -> int:
        if self._serial is None:
            raise errors.TransportClosedError("serial port {} is not open".format(self.port))
        return super()._fd(for_write)

    def _wait_ready(self, for_write: bool, timeout: Optional[float]) -> bool:
        try:
            return super()._wait_ready(for_write, timeout)
        except (OSError, ValueError) as error:  # ValueError: the descriptor is gone
            raise self._closed(error) from None

    def _read_ready(self, n: int) -> bytes:
        try:
            return super()._read_ready(n)
        except errors.TransportClosedError as error:
            raise self._closed(error) from None

    def _write_ready(self, data: memoryview) -> int:
        try:
            return super()._write_ready(data)
        except errors.TransportClosedError as error:
            raise self._closed(error) from None

    def _closed(self, error: Exception) -> errors.TransportClosedError:
        data = getattr(error, "data", None)
        reason = data.get("reason") if isinstance(data, dict) else None
        return errors.TransportClosedError(
            "serial port {} went away (device unplugged or closed): {}".format(
                self.port, reason or "end of file or hang-up"
            )
        )
