"""STM32F4 USARTs as data: where each sits, its interrupt, the bus that clocks it, the RCC bit
that enables it and the alternate function of its pins, so a board names only its USART and
pins (``"usart": "USART2", "tx": "PA2", "rx": "PA3"``) and the addresses follow. Pure.

Addresses, interrupt numbers and bits are those of ST's CMSIS device headers (stm32f401xe.h,
stm32f411xe.h, stm32f405xx.h, stm32f407xx.h, stm32f446xx.h), the same on all five; alternate
function numbers those of ST's HAL (GPIO_AF7_USART1, GPIO_AF7_USART2, GPIO_AF8_USART6).
"""

import dataclasses
from typing import Dict, Tuple

BAUD_TOLERANCE = 0.02  # the largest baud rate error accepted (the receiver's margin is ~3.75 %)
_BRR_RANGE = (16, 0xFFFF)  # USARTDIV from 1 to 4095 + 15/16, in sixteenths
_GPIOA_BASE = 0x40020000  # GPIOB, C, ... follow every 0x400 bytes
_GPIO_STRIDE = 0x400
_RCC_AHB1ENR = 0x30  # bit n enables GPIO port n (A = 0)
_RCC_APB1ENR = 0x40
_RCC_APB2ENR = 0x44


@dataclasses.dataclass(frozen=True)
class Usart:
    """One USART instance."""

    base: int
    irq: int
    bus: str  # "apb1" or "apb2": the clock its baud rate divides
    rcc_enable: Tuple[int, int]  # RCC register offset and the bit enabling its clock
    alternate_function: int  # its pins' AF number in GPIOx_AFR


USARTS = {
    "USART1": Usart(0x40011000, 37, "apb2", (_RCC_APB2ENR, 1 << 4), 7),
    "USART2": Usart(0x40004400, 38, "apb1", (_RCC_APB1ENR, 1 << 17), 7),
    "USART6": Usart(0x40011400, 71, "apb2", (_RCC_APB2ENR, 1 << 5), 8),
}


def _pin(name: str) -> Tuple[int, int]:
    """``PA2`` as (port index, pin number): (0, 2)."""
    port, number = name[1:2].upper(), name[2:]
    if not (name[:1].upper() == "P" and "A" <= port <= "K" and number.isdigit() and int(number) < 16):
        raise ValueError("a pin is P<port><0-15>, e.g. PA2; got {!r}".format(name))
    return ord(port) - ord("A"), int(number)


def board_uart(entry: Dict) -> Tuple[Usart, Tuple[Tuple[str, int], ...]]:
    """A boards.json ``uart`` entry naming a USART and its pins: the USART, and the board
    layer's definitions for its clock and pins (``stm32/usart_stm32.c``). Both pins must be on
    one port (the driver sets up one GPIO port)."""
    name = entry["usart"]
    if name not in USARTS:
        raise ValueError("usart must be one of {}, got {!r}".format(sorted(USARTS), name))
    usart = USARTS[name]
    (tx_port, tx_pin), (rx_port, rx_pin) = _pin(entry["tx"]), _pin(entry["rx"])
    if tx_port != rx_port:
        raise ValueError("{} and {} are on different GPIO ports".format(entry["tx"], entry["rx"]))
    definitions = (
        ("BOARD_UART_GPIO_BASE", _GPIOA_BASE + _GPIO_STRIDE * tx_port),
        ("BOARD_UART_TX_PIN", tx_pin),
        ("BOARD_UART_RX_PIN", rx_pin),
        ("BOARD_UART_AF", usart.alternate_function),
        ("BOARD_GPIO_RCC_REG", _RCC_AHB1ENR),
        ("BOARD_GPIO_RCC_BIT", 1 << tx_port),
        ("BOARD_UART_RCC_REG", usart.rcc_enable[0]),
        ("BOARD_UART_RCC_BIT", usart.rcc_enable[1]),
    )
    return usart, definitions


def brr(bus_hz: int, baud: int) -> int:
    """USART_BRR for 16x oversampling: USARTDIV = bus clock / (16 * baud) in sixteenths
    (mantissa in bits 15:4, fraction in 3:0), so the bus clock over the baud rate, rounded.
    ValueError when the USART cannot divide down to the rate, or only too far from it."""
    value = (bus_hz + baud // 2) // baud
    if not _BRR_RANGE[0] <= value <= _BRR_RANGE[1]:
        raise ValueError(
            "{} baud from a {} Hz bus needs a divider of {}/16, outside the USART's "
            "{}/16..{}/16".format(baud, bus_hz, value, *_BRR_RANGE)
        )
    error = abs(bus_hz / value - baud) / baud
    if error > BAUD_TOLERANCE:
        raise ValueError(
            "{} baud from a {} Hz bus is off by {:.1%}, more than {:.0%}".format(
                baud, bus_hz, error, BAUD_TOLERANCE
            )
        )
    return value
