"""Errors of a device session; all are ProjectAPIError so the CLI prints them as one line."""

from __future__ import annotations

from ..errors import ProjectAPIError, ProtocolError

__all__ = [
    "DeviceTerminatedError",
    "FramingError",
    "ProfilingUnavailable",
    "ProtocolError",
    "RemoteError",
    "SessionError",
    "SessionTimeoutError",
]


class SessionError(ProjectAPIError):
    """Base of the errors a device session raises (with ProtocolError, shared with the client)."""


class FramingError(ProtocolError):
    """A packet the receiver abandoned, with the reason (short packet, bad escape, too long).

    The unframer reports it as an event and goes on; it is an exception so it can be raised
    where a broken packet must stop the caller.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SessionTimeoutError(SessionError):
    """The device did not answer in time."""


class DeviceTerminatedError(SessionError):
    """The device ended the session, normally because it reset or crashed."""


class RemoteError(SessionError):
    """A device function failed; ``device_message`` is the text the device sent (may be empty)."""

    def __init__(self, what: str, device_message: str) -> None:
        self.device_message = device_message
        detail = device_message or "(the device gave no message)"
        super().__init__(f"{what} failed on the device: {detail}")


class ProfilingUnavailable(SessionError):
    """Per-operator profiling is not possible for this model or device; the message says why."""
