"""``projectapi device``: list serial ports and debug probes, flash an image onto a board."""

from __future__ import annotations

import argparse
from pathlib import Path

from microtvm_kit import openocd_runner, pyocd_runner
from projectapi.cli import output
from projectapi.cli.parsing import add_command, add_json
from projectapi.devices import discovery

_COLUMNS = ("device", "vid_pid", "serial_number", "kind", "boards", "description")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``device`` and its subcommands."""
    device = add_command(
        subparsers,
        "device",
        "list serial ports and probes; flash a board",
        "projectapi device list\nprojectapi device flash proj/build/firmware.elf --target nrf51",
    )
    commands = device.add_subparsers(
        dest="device_command", required=True, metavar="SUBCOMMAND", help="one of:"
    )

    listing = add_command(
        commands,
        "list",
        "list serial ports with USB IDs, serial number and the board or probe behind them",
        "projectapi device list --json",
    )
    add_json(listing)
    listing.set_defaults(func=_list)

    flash = add_command(
        commands,
        "flash",
        "write a firmware image to a board's chip",
        "projectapi device flash proj/build/firmware.elf --runner openocd --target stm32f4x",
    )
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
    add_json(flash)
    flash.set_defaults(func=_flash)


def _list(args: argparse.Namespace) -> int:
    devices = [d.as_json() for d in discovery.list_devices()]
    text = (
        output.table(_COLUMNS, [_row(d) for d in devices]) if devices else "no serial ports found"
    )
    output.emit(args, devices, text)
    return 0


def _row(fields: dict) -> tuple[str, ...]:
    fields = dict(fields, boards=",".join(fields["boards"]))
    return tuple(str(fields[name] or "-") for name in _COLUMNS)


def _flash(args: argparse.Namespace) -> int:
    if args.runner == "pyocd":
        pyocd_runner.flash(args.image, args.target, args.probe)
    else:
        openocd_runner.flash(args.image, args.interface, args.target, args.probe)
    output.emit(
        args,
        {"image": str(args.image), "runner": args.runner, "target": args.target},
        f"flashed {args.image} with {args.runner}",
    )
    return 0
