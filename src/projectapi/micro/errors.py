"""Errors of a device session; all are ProjectAPIError so the CLI prints them as one line."""

from __future__ import annotations

from ..errors import ProjectAPIError


class SessionError(ProjectAPIError):
    """Base of every error raised by a device session."""


class ProtocolError(SessionError):
    """The device sent bytes that break the wire protocol (or a value cannot be encoded)."""


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
