"""A board names its STM32 USART and pins; the addresses, interrupt, bus, RCC bits and the
pins' alternate function follow from them (``microtvm_kit.stm32_usart``)."""

from __future__ import annotations

import json

import pytest

from microtvm_kit import mcu_boards, stm32_usart
from projectapi.project import TEMPLATES_DIR


def test_usart6_on_port_c_uses_af8_and_the_gpioc_clock() -> None:
    usart, definitions = stm32_usart.board_uart({"usart": "USART6", "tx": "PC6", "rx": "PC7"})
    assert (usart.base, usart.irq, usart.bus) == (0x40011400, 71, "apb2")
    assert dict(definitions) == {
        "BOARD_UART_GPIO_BASE": 0x40020800,
        "BOARD_UART_TX_PIN": 6,
        "BOARD_UART_RX_PIN": 7,
        "BOARD_UART_AF": 8,
        "BOARD_GPIO_RCC_REG": 0x30,  # RCC_AHB1ENR, GPIOCEN is bit 2
        "BOARD_GPIO_RCC_BIT": 1 << 2,
        "BOARD_UART_RCC_REG": 0x44,  # RCC_APB2ENR, USART6EN is bit 5
        "BOARD_UART_RCC_BIT": 1 << 5,
    }


def test_usart2_and_usart1_on_port_a() -> None:
    usart2, pins2 = stm32_usart.board_uart({"usart": "USART2", "tx": "PA2", "rx": "PA3"})
    assert (usart2.base, usart2.irq, usart2.bus) == (0x40004400, 38, "apb1")
    assert dict(pins2)["BOARD_UART_RCC_REG"] == 0x40 and dict(pins2)["BOARD_UART_RCC_BIT"] == 1 << 17
    usart1, pins1 = stm32_usart.board_uart({"usart": "USART1", "tx": "PA9", "rx": "PA10"})
    assert (usart1.base, usart1.irq, usart1.bus) == (0x40011000, 37, "apb2")
    assert dict(pins1)["BOARD_UART_AF"] == 7 and dict(pins1)["BOARD_UART_RX_PIN"] == 10


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"usart": "USART3", "tx": "PB10", "rx": "PB11"}, "usart must be one of"),
        ({"usart": "USART2", "tx": "PA2", "rx": "PD6"}, "different GPIO ports"),
        ({"usart": "USART2", "tx": "A2", "rx": "PA3"}, "a pin is P<port><0-15>"),
        ({"usart": "USART2", "tx": "PA16", "rx": "PA3"}, "a pin is P<port><0-15>"),
    ],
)
def test_what_the_driver_cannot_set_up_is_refused(entry: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stm32_usart.board_uart(entry)


@pytest.mark.parametrize(
    ("bus_hz", "brr"),
    [(42_000_000, 0x16D), (48_000_000, 0x1A1), (84_000_000, 0x2D9), (16_000_000, 0x8B)],
)
def test_brr_for_115200_baud(bus_hz: int, brr: int) -> None:
    """42 MHz / 115200 = 364.58: 365 sixteenths (mantissa 22, fraction 13); 48 MHz: 416.67 ->
    417; 84 MHz: 729.17 -> 729; the reset HSI's 16 MHz: 138.89 -> 139."""
    assert stm32_usart.brr(bus_hz, 115200) == brr
    assert abs(bus_hz / brr - 115200) / 115200 < 0.005


@pytest.mark.parametrize(
    ("bus_hz", "baud", "message"),
    [
        (1_000_000, 115200, "needs a divider of 9/16"),
        (42_000_000, 300, "needs a divider of 140000/16"),
        (42_000_000, 2_560_000, "off by 2.5%"),
    ],
)
def test_rates_the_usart_cannot_give_are_refused(bus_hz: int, baud: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stm32_usart.brr(bus_hz, baud)


def test_a_board_whose_bus_cannot_give_its_baud_rate_is_refused(tmp_path) -> None:
    """Loading the table fails, naming the board, rather than building firmware that talks at
    the wrong speed."""
    table = json.loads((TEMPLATES_DIR / "boards" / "boards.json").read_text())
    table["nucleo-f401re"]["uart"]["baud"] = 4_000_000
    path = tmp_path / "boards.json"
    path.write_text(json.dumps(table))
    with pytest.raises(ValueError, match="board nucleo-f401re: 4000000 baud from a 42000000 Hz"):
        mcu_boards.load_boards(path)


def test_every_stm32_board_gets_its_divider() -> None:
    """The divider follows each table's bus clock: the PLL's APB bus on the boards, the rate
    QEMU models on its netduinoplus2."""
    boards = mcu_boards.load_boards(TEMPLATES_DIR / "boards" / "boards.json")
    assert "BOARD_UART_BRR=365u" in boards["netduinoplus2"].definitions()  # APB1 at 42 MHz
    assert "BOARD_UART_BRR=417u" in boards["nucleo-f411re"].definitions()  # APB1 at 48 MHz
    qemu = mcu_boards.load_boards(TEMPLATES_DIR / "qemu" / "boards.json")
    assert "BOARD_UART_BRR=729u" in qemu["netduinoplus2"].definitions()  # APB2 at 84 MHz
