"""The device Session: drives the session protocol and RPC client over any transport.

A transport follows the contract of ``microtvm_kit.transport.Transport`` (``open() ->
timeouts``, ``close()``, ``read(n, timeout_sec)``, ``write(data, timeout_sec)``), such as a
generated project's ``transport()``; any object with those methods will do. "Nothing arrived in
time" is ``IoTimeoutError`` (or Python's ``TimeoutError``, or a read returning no bytes); "the
device is gone" is ``TransportClosedError`` (or ``EOFError``/``ConnectionError``). For a
transport whose ``read`` waits for exactly ``n`` bytes, pass ``exact_reads=True``: the Session
then only asks for bytes the device still owes (one more read per reply).

Timeouts (seconds; ``math.inf`` given to the Session waits without limit, which it passes to the
transport as ``None``, the contract's "no limit"):

- handshake: TerminateSession + StartSessionInit are resent every
  ``session_start_retry_timeout_sec`` (0: never) until the device replies, giving up after
  ``start_timeout_sec`` (default: the transport's ``session_start_timeout_sec``, or
  ``DEFAULT_START_TIMEOUT_SEC`` where that is 0, which TVM treats as "forever").
- replies: each reply must arrive within ``reply_timeout_sec`` (default: the transport's
  ``session_established_timeout_sec``, or ``DEFAULT_REPLY_TIMEOUT_SEC`` where that is 0).
  Device log messages arriving meanwhile are logged (logger ``projectapi.device``, INFO) and
  do not restart the clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import numpy as np

from microtvm_kit.errors import IoTimeoutError, TransportClosedError
from microtvm_kit.transport import Deadline, Transport, no_limit_from_inf

from .errors import DeviceTerminatedError, SessionError, SessionTimeoutError
from .executors import AotExecutor, GraphExecutor, HostGraphExecutor
from .rpc import RemoteArray, RemoteFunction, RemoteModule, RPCClient
from .session_protocol import (
    Event,
    LogReceived,
    MessageReceived,
    PacketDropped,
    SessionEstablished,
    SessionProtocol,
    SessionState,
    SessionTerminated,
)

DEFAULT_START_TIMEOUT_SEC = 10.0
"""Handshake limit when the transport gives none: a device that has not answered in 10 s is
not coming (TVM's own templates use 5 to 10 s)."""

DEFAULT_REPLY_TIMEOUT_SEC = 60.0
"""Reply limit when the transport gives none: long enough for a model run on a slow MCU, short
enough that a hung device is reported instead of blocking forever (TVM waits forever)."""

MAX_READ_BYTES = 64 * 1024
"""Most bytes asked of the transport in one read."""

EMPTY_READ_PAUSE_SEC = 0.001
"""Pause after a read that returned nothing, so a non-blocking transport is not spun on."""

device_log = logging.getLogger("projectapi.device")
_log = logging.getLogger(__name__)

__all__ = ["Session", "Transport"]


def _is_timeout(error: BaseException) -> bool:
    return isinstance(error, TimeoutError | IoTimeoutError)


def _is_closed(error: BaseException) -> bool:
    return isinstance(error, EOFError | ConnectionError | TransportClosedError)


def _timeout_field(timeouts: Any, name: str) -> float:
    """A field of the transport's timeouts (object, mapping or None); 0 when absent."""
    if timeouts is None:
        return 0.0
    value = timeouts.get(name) if isinstance(timeouts, Mapping) else getattr(timeouts, name, 0)
    return float(value or 0)


def _or_default(value: float, default: float) -> float:
    return value if value > 0 else default


class Session:
    """A session with a device over a transport: ``with Session(transport) as s: ...``."""

    def __init__(
        self,
        transport: Transport,
        *,
        start_timeout_sec: float | None = None,
        reply_timeout_sec: float | None = None,
        exact_reads: bool = False,
    ) -> None:
        """Wrap ``transport``; nothing is opened until ``open()`` or ``with``.

        Timeouts are in seconds (``math.inf``: no limit); None takes the transport's value or
        the module default (see the module docstring). ``exact_reads`` is for transports whose
        ``read(n)`` waits for exactly ``n`` bytes.
        """
        for label, value in (("start", start_timeout_sec), ("reply", reply_timeout_sec)):
            if value is not None and not value > 0:
                raise SessionError(f"{label}_timeout_sec must be positive, got {value}")
        self._transport = transport
        self._exact_reads = exact_reads
        self._start_timeout = start_timeout_sec
        self._reply_timeout = reply_timeout_sec
        self._reply_limit: float | None = None  # the reply timeout in effect; None: no limit
        self._protocol = SessionProtocol()
        self._rpc = RPCClient(self._exchange)
        self._rpc.closed_reason = "the session is not open"
        self._is_open = False

    # Lifetime ------------------------------------------------------------------------------

    def open(self) -> Session:
        """Open the transport and establish the session (handshake with retries)."""
        if self._is_open:
            raise SessionError("the session is already open")
        timeouts = self._transport.open()
        self._is_open = True
        try:
            retry = _timeout_field(timeouts, "session_start_retry_timeout_sec")
            start = self._start_timeout
            if start is None:
                start = _or_default(
                    _timeout_field(timeouts, "session_start_timeout_sec"),
                    DEFAULT_START_TIMEOUT_SEC,
                )
            reply = self._reply_timeout
            if reply is None:
                reply = _or_default(
                    _timeout_field(timeouts, "session_established_timeout_sec"),
                    DEFAULT_REPLY_TIMEOUT_SEC,
                )
            self._reply_limit = no_limit_from_inf(reply)
            self._handshake(no_limit_from_inf(start), retry)
        except BaseException:
            self.close()
            raise
        self._rpc = RPCClient(self._exchange)  # objects of an earlier session stay unusable
        return self

    def close(self) -> None:
        """Close the transport. Device objects still held are not freed (the device keeps them)."""
        if not self._is_open:
            return
        self._is_open = False
        self._rpc.closed_reason = "the session is closed"
        self._transport.close()

    def __enter__(self) -> Session:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def rpc(self) -> RPCClient:
        """The RPC client of this session (raw requests, copies, packet size)."""
        return self._rpc

    # Device API ----------------------------------------------------------------------------

    def get_global_func(self, name: str) -> RemoteFunction:
        """A global function of the device; raises SessionError if it has none of that name."""
        return self._rpc.get_global_func(name)

    def system_lib(self) -> RemoteModule:
        """The device's system library module."""
        return self._rpc.system_lib()

    def empty(self, shape: tuple[int, ...], dtype: str = "float32") -> RemoteArray:
        """A new uninitialised device array."""
        return self._rpc.empty(shape, dtype)

    def array(self, value: np.ndarray) -> RemoteArray:
        """A device copy of a numpy array."""
        return self._rpc.array(value)

    def create_aot_executor(self, model_name: str = "default") -> AotExecutor:
        """The device's AOT executor for ``model_name`` (one per device boot)."""
        return AotExecutor.create(self._rpc, model_name)

    def create_graph_executor(
        self, graph_json: str, params: bytes | Mapping[str, np.ndarray] | None = None
    ) -> GraphExecutor:
        """A graph executor running on the device (needs tvm.graph_executor.create there)."""
        return GraphExecutor.create(self._rpc, graph_json, params)

    def create_host_graph_executor(
        self, graph_json: str, params: bytes | Mapping[str, np.ndarray] | None = None
    ) -> HostGraphExecutor:
        """A graph executor walking the graph on the host, running each operator on the device."""
        return HostGraphExecutor.create(self._rpc, graph_json, params)

    # Protocol driving ----------------------------------------------------------------------

    def _handshake(self, start_timeout: float | None, retry_timeout: float) -> None:
        """Start the session within ``start_timeout`` (None: no limit), resending every retry."""
        deadline = Deadline(start_timeout)
        while True:
            self._protocol.start()
            self._flush(deadline.remaining())
            attempt = deadline
            if retry_timeout > 0:
                remaining = deadline.remaining()
                attempt = Deadline(
                    retry_timeout if remaining is None else min(retry_timeout, remaining)
                )
            while self._protocol.state is not SessionState.ESTABLISHED:
                if attempt.expired():
                    break
                self._handle(self._receive(attempt), established=False)
            if self._protocol.state is SessionState.ESTABLISHED:
                return
            if deadline.expired():
                raise SessionTimeoutError(
                    f"the device did not answer the session handshake within {start_timeout:g} s;"
                    " check that it runs the RPC server and the transport reaches it"
                )

    def _exchange(self, request: bytes) -> bytes:
        """Send one RPC request message and wait for the reply message."""
        limit = self._reply_limit
        self._protocol.send_message(request)
        self._flush(limit)
        deadline = Deadline(limit)
        while True:
            for body in self._handle(self._receive(deadline), established=True):
                return body
            if deadline.expired():
                self._rpc.closed_reason = (
                    "an earlier request timed out, so replies can no longer be matched to "
                    "requests; open a new session"
                )
                raise SessionTimeoutError(
                    f"the device did not reply within {limit:g} s; it may be hung "
                    "(pass a larger reply_timeout_sec for long-running calls)"
                )

    def _flush(self, timeout: float | None) -> None:
        """Send what the protocol has to send within ``timeout`` (None: no limit)."""
        data = self._protocol.data_to_send()
        try:
            self._transport.write(data, timeout)
        except Exception as error:
            self._protocol.write_failed()
            if _is_timeout(error):
                raise SessionTimeoutError(
                    f"could not send {len(data)} bytes to the device within {timeout} s"
                ) from error
            self._raise_if_closed(error)
            raise

    def _receive(self, deadline: Deadline) -> list[Event]:
        """Read once (at most until ``deadline``) and return the events the bytes complete."""
        wanted = MAX_READ_BYTES
        if self._exact_reads:
            wanted = min(self._protocol.unframer.min_bytes_needed(), MAX_READ_BYTES)
        try:
            data = self._transport.read(wanted, deadline.remaining())
        except Exception as error:
            if _is_timeout(error):
                return []
            self._raise_if_closed(error)
            raise
        if not data:
            time.sleep(EMPTY_READ_PAUSE_SEC)
            return []
        return self._protocol.receive_data(data)

    def _raise_if_closed(self, error: Exception) -> None:
        """Report a transport that closed under us as the device going away."""
        if _is_closed(error):
            self._rpc.closed_reason = "the transport to the device closed"
            raise DeviceTerminatedError(
                f"the transport to the device closed ({error}); the device stopped or was "
                "disconnected"
            ) from error

    def _handle(self, events: list[Event], *, established: bool) -> list[bytes]:
        """Act on events; return the bodies of received RPC messages."""
        bodies = []
        for event in events:
            if isinstance(event, LogReceived):
                device_log.info("%s", event.text)
            elif isinstance(event, MessageReceived):
                bodies.append(event.body)
            elif isinstance(event, SessionTerminated):
                self._rpc.closed_reason = "the device terminated the session"
                raise DeviceTerminatedError(
                    "the device terminated the session (it reset or crashed); "
                    "open a new session to continue"
                )
            elif isinstance(event, PacketDropped):
                _log.warning("dropped a packet from the device: %s", event.reason)
            elif isinstance(event, SessionEstablished) and established:
                _log.warning("the device restarted the session handshake")
        if len(bodies) > 1:
            raise SessionError(f"the device sent {len(bodies)} replies to one request")
        return bodies
