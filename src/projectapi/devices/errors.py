"""Errors a user can cause with real devices: each names what to plug in, install or choose."""

from __future__ import annotations

from projectapi.errors import ProjectAPIError


class DeviceError(ProjectAPIError):
    """No device, or more than one, matches what was asked for."""


class NoProbeError(DeviceError):
    """The flash tool found no debug probe attached."""


class FlashToolMissingError(DeviceError):
    """The flash tool is not installed; the message says how to install it."""


class FlashError(DeviceError):
    """The flash tool ran and failed; the message holds its own words."""
