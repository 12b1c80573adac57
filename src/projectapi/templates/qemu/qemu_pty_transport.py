"""A QEMU process with its emulated UART on a pseudo-terminal, opened as a serial port.

This is the path a real board's USB serial port takes (``microtvm_kit.serial_transport``, on
pyserial), so CI exercises it on emulated silicon. ``open`` starts QEMU halted (``-S``) with its
UART on ``-serial pty`` and its QMP monitor on stdin/stdout, reads the pseudo-terminal's path
from QEMU's output, opens it, and only then lets the machine run (QMP ``cont``): the firmware's
first byte is never lost. For a UART that drops bytes until the firmware enables it (STM32's
USART), ``open`` also waits, reading the UART's register through the monitor, until the firmware
has, so the host's first byte is not lost either. When QEMU exits (or is killed) the pseudo-terminal hangs up, and reads
and writes raise ``errors.TransportClosedError`` with QEMU's exit status and output: never a
hang. Timeouts as in ``serial_transport``.
"""

import re
import time
from typing import Callable, List, Optional

from qemu_transport import CONNECT_TIMEOUT_SEC, QemuProcess, QemuStartError, UartReadyCheck

from microtvm_kit import errors
from microtvm_kit.serial_transport import SerialTransport
from microtvm_kit.transport import Transport

_PTY_LINE = re.compile(rb"char device redirected to (\S+) \(label serial0\)")


class QemuPtyTransport(Transport):
    """Run QEMU for one session and carry bytes over its UART's pseudo-terminal."""

    def __init__(
        self,
        command_for_serial: Callable[[str], List[str]],
        resume: bool = True,
        ready: Optional[UartReadyCheck] = None,
    ) -> None:
        """``command_for_serial(serial_spec)`` gives QEMU's argv for a ``-serial`` backend;
        ``resume``: let the machine run once the port is open (False: a debugger will);
        ``ready``: after resuming, wait until the firmware has enabled its UART."""
        self._command_for_serial = command_for_serial
        self._resume = resume
        self._ready = ready
        self._qemu = None  # type: Optional[QemuProcess]
        self._serial = None  # type: Optional[SerialTransport]

    @property
    def pid(self) -> Optional[int]:
        """QEMU's process id while it runs."""
        return self._qemu.pid if self._qemu is not None else None

    @property
    def port(self) -> Optional[str]:
        """The pseudo-terminal's path while open."""
        return self._serial.port if self._serial is not None else None

    def open(self, timeout_sec: float = CONNECT_TIMEOUT_SEC) -> None:
        """Start QEMU, open its UART's pseudo-terminal, then run the machine; on any failure
        nothing is left running."""
        if self._qemu is not None:
            raise QemuStartError("transport is already open; close it first")
        argv = [*self._command_for_serial("pty"), "-S", "-qmp", "stdio"]
        self._qemu = QemuProcess(argv, stdio=True)
        try:
            self._qemu.start()
            deadline = time.monotonic() + timeout_sec
            path = self._qemu.read_monitor(_PTY_LINE, deadline).group(1).decode()
            self._serial = SerialTransport(path)
            self._serial.open()
            self._qemu.qmp({"execute": "qmp_capabilities"}, deadline)
            if self._resume:
                self._qemu.qmp({"execute": "cont"}, deadline)
                if self._ready is not None:
                    self._qemu.wait_until_ready(self._ready, deadline)
        except BaseException:
            self.close()
            raise

    def stderr_tail(self) -> str:
        """The end of what QEMU wrote to stderr so far."""
        return self._qemu.stderr_tail() if self._qemu is not None else ""

    def read(self, n: int, timeout_sec: Optional[float]) -> bytes:
        """Return 1 to ``n`` bytes from the UART (timeouts as in ``serial_transport``)."""
        try:
            return self._live_serial().read(n, timeout_sec)
        except errors.TransportClosedError:
            raise self._closed_error() from None

    def write(self, data: bytes, timeout_sec: Optional[float]) -> None:
        """Send every byte of ``data`` to the UART (timeouts as in ``serial_transport``)."""
        try:
            self._live_serial().write(data, timeout_sec)
        except errors.TransportClosedError:
            raise self._closed_error() from None

    def close(self) -> Optional[int]:
        """Close the port, stop and reap QEMU; return its exit status (None if not running)."""
        serial, self._serial = self._serial, None
        qemu, self._qemu = self._qemu, None
        if serial is not None:
            serial.close()
        return qemu.stop() if qemu is not None else None

    def _live_serial(self) -> SerialTransport:
        if self._serial is None:
            raise errors.TransportClosedError("the QEMU transport is not open")
        return self._serial

    def _closed_error(self) -> errors.TransportClosedError:
        if self._qemu is None:
            return errors.TransportClosedError("the QEMU transport is not open")
        return self._qemu.closed_error("UART's pseudo-terminal")
