"""What a USB serial port is, from its USB IDs and product string: a table, matched in order.

IDs are the vendors' published ones. A debug probe's serial port is usually the board's UART
(ST-LINK/V2-1 on Nucleo and Discovery boards, DAPLink on the micro:bit, J-Link OB on nRF DKs).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class UsbKind:
    """One row: a USB vendor, optionally a product ID or a word of the product string."""

    vid: int
    pid: int | None  # None: any product of the vendor
    product_word: str | None  # matched case-insensitively in the description/product
    kind: str  # what the port is: a probe family or a USB serial adapter
    probe: bool  # whether it is a debug probe (can flash)
    boards: tuple[str, ...] = ()  # boards known to carry it


ST, ARM, SEGGER, NORDIC, RPI = 0x0483, 0x0D28, 0x1366, 0x1915, 0x2E8A

# Most specific rows first: the first match wins.
TABLE: tuple[UsbKind, ...] = (
    UsbKind(ARM, 0x0204, "micro:bit", "DAPLink (CMSIS-DAP)", True, ("microbit",)),
    UsbKind(ARM, 0x0204, None, "DAPLink (CMSIS-DAP)", True),
    UsbKind(ST, 0x3748, None, "ST-LINK/V2", True, ("stm32f4-discovery",)),
    UsbKind(
        ST, 0x374B, None, "ST-LINK/V2-1", True, ("nucleo-f401re", "nucleo-f411re", "nucleo-f446re")
    ),
    UsbKind(
        ST, 0x3752, None, "ST-LINK/V2-1", True, ("nucleo-f401re", "nucleo-f411re", "nucleo-f446re")
    ),
    UsbKind(ST, 0x374E, None, "ST-LINK/V3", True),
    UsbKind(ST, 0x374F, None, "ST-LINK/V3", True),
    UsbKind(ST, 0x3753, None, "ST-LINK/V3", True),
    UsbKind(ST, 0x3754, None, "ST-LINK/V3", True),
    UsbKind(SEGGER, 0x1015, None, "J-Link OB", True, ("nrf52840dk",)),
    UsbKind(SEGGER, 0x1051, None, "J-Link OB", True, ("nrf52840dk",)),
    UsbKind(SEGGER, None, None, "J-Link", True),
    UsbKind(RPI, 0x000C, None, "Raspberry Pi Debug Probe (CMSIS-DAP)", True),
    UsbKind(0x1D50, 0x6018, None, "Black Magic Probe", True),
    UsbKind(NORDIC, 0x521F, None, "nRF52840 Dongle (bootloader)", False),
    UsbKind(0x0403, None, None, "USB serial adapter (FTDI)", False),
    UsbKind(0x10C4, 0xEA60, None, "USB serial adapter (Silicon Labs CP210x)", False),
    UsbKind(0x1A86, 0x7523, None, "USB serial adapter (WCH CH340)", False),
)
# Any vendor: a CMSIS-DAP probe says so in its product string.
CMSIS_DAP = UsbKind(0, None, "CMSIS-DAP", "CMSIS-DAP", True)


def lookup(vid: int | None, pid: int | None, product: str) -> UsbKind | None:
    """The first row matching the IDs and product string, or None (unknown or not USB)."""
    if vid is None:
        return None
    text = product.lower()
    for row in TABLE:
        if row.vid != vid or (row.pid is not None and row.pid != pid):
            continue
        if row.product_word is None or row.product_word.lower() in text:
            return row
    return CMSIS_DAP if CMSIS_DAP.product_word.lower() in text else None
