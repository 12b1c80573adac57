"""``projectapi device``: list serial ports and debug probes, flash an image onto a board."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from projectapi.devices import discovery, openocd_runner, pyocd_runner

_COLUMNS = ("device", "vid_pid", "serial_number", "kind", "boards", "description")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``device`` and its subcommands."""
    device = subparsers.add_parser("device", help="list serial ports and probes; flash a board")
    commands = device.add_subparsers(dest="device_command", required=True, metavar="SUBCOMMAND")

    listing = commands.add_parser(
        "list", help="serial ports with USB IDs, serial number and the board or probe behind them"
    )
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(func=_list)

    flash = commands.add_parser("flash", help="write a firmware image to a board's chip")
    flash.add_argument(
        "image", type=Path, help="the firmware (ELF), e.g. PROJECT/build/firmware.elf"
    )
    flash.add_argument("--runner", choices=("pyocd", "openocd"), default="pyocd")
    flash.add_argument(
        "--target",
        required=True,
        help="the chip: a pyOCD target (nrf51, stm32f405rg) or an "
        "OpenOCD target config name (nrf51, stm32f4x)",
    )
    flash.add_argument(
        "--interface",
        choices=sorted(openocd_runner.INTERFACES),
        default="cmsis-dap",
        help="OpenOCD only: the probe's interface (default cmsis-dap)",
    )
    flash.add_argument("--probe", help="the probe's serial number / unique id, if several")
    flash.set_defaults(func=_flash)


def _list(args: argparse.Namespace) -> int:
    devices = discovery.list_devices()
    if args.json:
        print(json.dumps([d.as_json() for d in devices], indent=2))
        return 0
    if not devices:
        print("no serial ports found")
        return 0
    rows = [_COLUMNS] + [_row(d.as_json()) for d in devices]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _row(fields: dict) -> tuple[str, ...]:
    fields = dict(fields, boards=",".join(fields["boards"]))
    return tuple(str(fields[name] or "-") for name in _COLUMNS)


def _flash(args: argparse.Namespace) -> int:
    if args.runner == "pyocd":
        pyocd_runner.flash(args.image, args.target, args.probe)
    else:
        openocd_runner.flash(args.image, args.interface, args.target, args.probe)
    print(f"flashed {args.image} with {args.runner}")
    return 0
