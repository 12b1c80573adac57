"""Flash an image with pyOCD's Python API (``pip install 'projectapi[pyocd]'``).

pyOCD drives CMSIS-DAP (DAPLink), ST-LINK and J-Link probes; the chip is a pyOCD target name
(e.g. ``nrf51``, ``stm32f405rg``); a probe is chosen by its unique id when several are attached.
"""

from __future__ import annotations

import importlib
import pathlib
from typing import Any

from microtvm_kit.errors import FlashError, FlashToolMissingError, NoProbeError

INSTALL_HINT = "install it: pip install 'projectapi[pyocd]' (or pip install pyocd)"
PACK_HINT = "pyocd pack install <part>, e.g. pyocd pack install stm32f401re"


def _pyocd() -> tuple[Any, Any, Any]:
    """pyOCD's ConnectHelper, FileProgrammer and base exception, or FlashToolMissingError."""
    try:
        helpers = importlib.import_module("pyocd.core.helpers")
        programmer = importlib.import_module("pyocd.flash.file_programmer")
        exceptions = importlib.import_module("pyocd.core.exceptions")
    except ImportError:
        raise FlashToolMissingError(f"pyOCD is not installed; {INSTALL_HINT}") from None
    return helpers.ConnectHelper, programmer.FileProgrammer, exceptions.Error


def probe_ids() -> list[str]:
    """The unique ids of the debug probes pyOCD sees now."""
    connect, _, _ = _pyocd()
    return [probe.unique_id for probe in connect.get_all_connected_probes(blocking=False)]


def flash(image: pathlib.Path, target: str, probe_id: str | None = None) -> None:
    """Write ``image`` (ELF or hex) to the chip, then reset it. Raises FlashToolMissingError,
    NoProbeError or FlashError (also when several probes are attached and none is chosen)."""
    connect, programmer, pyocd_error = _pyocd()
    if not image.is_file():
        raise FlashError(f"no image to flash at {image}: build the project first")
    probes = [
        probe.unique_id
        for probe in connect.get_all_connected_probes(blocking=False)
        if probe_id is None or probe.unique_id == probe_id
    ]
    if not probes:
        raise NoProbeError(
            "no debug probe found"
            + (f" with id {probe_id}" if probe_id else "")
            + ": plug the board in (USB cable to its debug port) and check `projectapi device list`"
        )
    if len(probes) > 1:
        raise FlashError(f"several debug probes attached ({', '.join(probes)}): choose one")
    try:
        with connect.session_with_chosen_probe(
            blocking=False, unique_id=probes[0], target_override=target
        ) as session:
            programmer(session).program(str(image))
            session.target.reset()
    except pyocd_error as error:
        hint = ""
        if f"Target type {target} not recognized" in str(error):
            hint = f" (targets outside pyOCD's built-in list come in CMSIS packs: {PACK_HINT})"
        raise FlashError(f"pyOCD could not flash {image} to {target}: {error}{hint}") from None
