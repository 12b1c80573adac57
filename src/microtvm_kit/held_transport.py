"""The transport half of a handler that holds one open ``Transport`` at a time: close, read and
write delegate to it; ``hold`` replaces it with a newly opened one."""

from __future__ import annotations

from typing import Optional

from .errors import TransportClosedError
from .transport import Transport


class HeldTransport:
    """Mix-in for a ProjectAPIHandler: close_transport, read_transport, write_transport."""

    _transport: Optional[Transport] = None

    def hold(self, transport: Transport) -> None:
        """Close the transport held so far, open ``transport`` and hold it."""
        self.close_transport()
        transport.open()
        self._transport = transport

    def close_transport(self) -> None:
        """Close the held transport; closing a closed transport does nothing."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def read_transport(self, n: int, timeout_sec: Optional[float]) -> bytes:
        """Return 1 to ``n`` bytes from the device, waiting at most ``timeout_sec``."""
        return self._held().read(n, timeout_sec)

    def write_transport(self, data: bytes, timeout_sec: Optional[float]) -> None:
        """Send ``data`` to the device, waiting at most ``timeout_sec``."""
        self._held().write(data, timeout_sec)

    def _held(self) -> Transport:
        if self._transport is None:
            raise TransportClosedError("the transport is not open: call open_transport")
        return self._transport
