"""A board's serial port as a transport: pyserial opens and configures it, the transport
contract's fd loop (``FdTransport``) reads and writes it. pyserial is imported only when a port
is opened, so this package stays standard-library only for everything else."""

from typing import Optional

from .errors import ToolchainMissingError, TransportOpenError
from .transport import FdTransport


class SerialTransport(FdTransport):
    """``port`` at ``baud_rate``, 8N1, raw; opened by ``open``, closed by ``close``."""

    def __init__(self, port: str, baud_rate: int) -> None:
        super().__init__()
        self._port = port
        self._baud_rate = baud_rate
        self._serial: Optional[object] = None

    def open(self) -> None:
        """Open the port (pyserial is imported only here: only serial transports need it)."""
        try:
            import serial
        except ImportError:
            raise ToolchainMissingError(
                "the serial transport needs pyserial: pip install pyserial"
            ) from None
        try:
            self._serial = serial.Serial(self._port, self._baud_rate, timeout=0)
        except (serial.SerialException, ValueError) as error:
            raise TransportOpenError(
                "cannot open serial port {}: {}".format(self._port, error)
            ) from None
        self.read_fd = self.write_fd = self._serial.fileno()

    def close(self) -> None:
        """Close the port; closing a closed transport does nothing."""
        super().close()
        port, self._serial = self._serial, None
        if port is not None:
            port.close()
