"""A board names its STM32 USART and pins; the addresses, interrupt, bus, RCC bits and the
pins' alternate function follow from them (``microtvm_kit.stm32_usart``)."""

from __future__ import annotations

import pytest

from microtvm_kit import stm32_usart


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
