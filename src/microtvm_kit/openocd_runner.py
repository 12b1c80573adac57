"""Flash an image with OpenOCD (Debian package ``openocd``): one ``program`` command line.

The probe's interface and the chip's target are OpenOCD's own configuration names; a probe is
chosen by its serial number when several are attached.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

from microtvm_kit.errors import FlashError, FlashToolMissingError, NoProbeError

INTERFACES = {
    "stlink": "interface/stlink.cfg",
    "cmsis-dap": "interface/cmsis-dap.cfg",
    "jlink": "interface/jlink.cfg",
}
# The transport each interface must select for the boards' chips. nRF51/nRF52 have only SWD, and
# OpenOCD otherwise picks the adapter's first transport (JTAG on a J-Link); the ST-LINK's
# interface file selects its own (hla_swd).
_TRANSPORTS = {"stlink": None, "cmsis-dap": "swd", "jlink": "swd"}
INSTALL_HINT = "install it: apt-get install openocd (Debian, Ubuntu), brew install open-ocd (macOS)"
# What OpenOCD 0.12 says when the interface finds no probe.
_NO_PROBE_LINES = (
    "Error: open failed",  # ST-LINK
    "unable to find a matching CMSIS-DAP device",
    "No J-Link device found",
)
_OUTPUT_TAIL_LINES = 8
FLASH_TIMEOUT_SEC = 180.0


def configuration(interface: str, target: str, probe_serial: str | None = None) -> list[str]:
    """OpenOCD's arguments choosing the probe's interface, its transport and the chip."""
    if interface not in INTERFACES:
        raise ValueError(f"interface must be one of {sorted(INTERFACES)}, got {interface!r}")
    argv = ["-f", INTERFACES[interface]]
    if _TRANSPORTS[interface]:
        argv += ["-c", f"transport select {_TRANSPORTS[interface]}"]
    argv += ["-f", f"target/{target}.cfg"]
    if probe_serial:
        argv += ["-c", f"adapter serial {probe_serial}"]
    return argv


def command(
    image: pathlib.Path, interface: str, target: str, probe_serial: str | None = None
) -> list[str]:
    """OpenOCD's command line writing ``image``, verifying it and resetting the chip."""
    argv = configuration(interface, target, probe_serial)
    return ["openocd", *argv, "-c", f"program {{{image}}} verify reset exit"]


def flash(image: pathlib.Path, interface: str, target: str, probe_serial: str | None = None) -> str:
    """Write ``image`` with OpenOCD; return its output. Raises FlashToolMissingError,
    NoProbeError or FlashError (with OpenOCD's last lines)."""
    if shutil.which("openocd") is None:
        raise FlashToolMissingError(f"OpenOCD is not installed; {INSTALL_HINT}")
    if not image.is_file():
        raise FlashError(f"no image to flash at {image}: build the project first")
    argv = command(image.resolve(), interface, target, probe_serial)
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=FLASH_TIMEOUT_SEC, check=False
        )
    except subprocess.TimeoutExpired:
        raise FlashError(f"OpenOCD did not finish within {FLASH_TIMEOUT_SEC:.0f} s") from None
    output = result.stdout + result.stderr
    if result.returncode == 0:
        return output
    if any(line in output for line in _NO_PROBE_LINES):
        raise NoProbeError(
            f"no {interface} debug probe found"
            + (f" with serial {probe_serial}" if probe_serial else "")
            + ": plug the board in (USB cable to its debug port) and check `projectapi device list`"
        )
    tail = "\n".join(output.strip().splitlines()[-_OUTPUT_TAIL_LINES:])
    raise FlashError(f"OpenOCD failed (exit status {result.returncode}):\n{tail}")
