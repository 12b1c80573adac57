"""Errors a user can cause with real devices: each names what to plug in, install or choose.

The flash errors are the project side's (``microtvm_kit.errors``), since a template's ``flash``
runs the same runners inside a generated project.
"""

from __future__ import annotations

from projectapi.errors import ProjectAPIError


class DeviceError(ProjectAPIError):
    """No device, or more than one, matches what was asked for."""
