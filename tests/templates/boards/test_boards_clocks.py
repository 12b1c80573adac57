"""The boards tables as data: every STM32 board's PLL settings give the SYSCLK, APB and timer
rates the table states, within the chip's limits; the check itself refuses what breaks them; the
QEMU entries of the same chips configure no PLL (QEMU 7.2 does not model the RCC)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from microtvm_kit import mcu_boards, stm32_clock, stm32_usart
from projectapi.project import TEMPLATES_DIR

BOARDS = mcu_boards.load_boards(TEMPLATES_DIR / "boards" / "boards.json")
QEMU_BOARDS = mcu_boards.load_boards(TEMPLATES_DIR / "qemu" / "boards.json")
STM32 = sorted(name for name, board in BOARDS.items() if board.uart_driver == "stm32_usart")
# SYSCLK and the UART's bus clock each STM32 board runs at (the reference manuals' maxima, or
# below them where noted in docs/boards.md).
EXPECTED = {
    "nucleo-f401re": (84_000_000, 42_000_000),
    "nucleo-f411re": (96_000_000, 48_000_000),
    "nucleo-f446re": (168_000_000, 42_000_000),
    "stm32f4-discovery": (168_000_000, 42_000_000),
    "netduinoplus2": (168_000_000, 42_000_000),
}


def test_every_stm32_board_has_a_clock() -> None:
    assert sorted(EXPECTED) == STM32
    assert all(BOARDS[name].clock is not None for name in STM32)


@pytest.mark.parametrize("name", STM32)
def test_pll_gives_the_stated_rates_within_limits(name: str) -> None:
    board = BOARDS[name]
    clock = board.clock
    assert clock.problems() == []
    sysclk, uart_clock = EXPECTED[name]
    assert clock.sysclk_hz == sysclk
    assert board.timer_hz == sysclk  # SysTick counts the processor clock
    assert clock.bus_hz(board.uart_bus) == uart_clock
    assert clock.pll48_hz == 48_000_000
    definitions = dict(
        item.rstrip("u").split("=") for item in board.definitions() if "=" in item
    )
    assert int(definitions["BOARD_UART_BRR"]) == stm32_usart.brr(uart_clock, 115200)
    assert int(definitions["BOARD_FLASH_LATENCY"]) == clock.flash_wait_states


def test_pllcfgr_fields() -> None:
    """RCC_PLLCFGR: M in 5:0, N in 14:6, P/2-1 in 17:16, HSE source in 22, Q in 27:24."""
    f405 = BOARDS["netduinoplus2"].clock
    assert f405.pllcfgr() == 16 | 336 << 6 | 0 << 16 | 7 << 24
    f407 = BOARDS["stm32f4-discovery"].clock
    assert f407.pllcfgr() == 8 | 336 << 6 | 1 << 22 | 7 << 24
    f401 = BOARDS["nucleo-f401re"].clock
    assert f401.pllcfgr() >> 16 & 3 == 1  # P = 4
    # APB1 / 4 (code 101 in bits 12:10), APB2 / 2 (code 100 in bits 15:13)
    assert f405.cfgr_prescalers() == 5 << 10 | 4 << 13


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"pll_n": 432, "flash_wait_states": 5}, "SYSCLK is 216000000"),
        ({"apb1_div": 1}, "APB1 is 168000000"),
        ({"flash_wait_states": 3}, "the chip needs 5"),
        ({"pll_m": 4}, "VCO input is 4000000"),
        ({"pll_p": 3}, "PLLP must be"),
        ({"pll_q": 6}, "48 MHz domain"),
        ({"source_hz": 8_000_000}, "HSI runs at 16000000"),
        ({"source": "hse", "source_hz": 27_000_000, "pll_m": 27}, "HSE at 27000000 Hz"),
        ({"voltage_scale": 2}, "voltage scale 2 allows 144000000"),
        ({"voltage_scale": 3}, "stm32f405 has voltage scales [1, 2], not 3"),
    ],
)
def test_the_check_refuses_broken_settings(change: dict, problem: str) -> None:
    broken = dataclasses.replace(BOARDS["netduinoplus2"].clock, **change)
    assert any(problem in text for text in broken.problems()), broken.problems()


def _f411(mhz: int, **change) -> stm32_clock.Stm32Clock:
    """An F411 on the HSI at ``mhz`` (VCO at 4 * mhz, P = 4), APB1 halved."""
    waits = next(n for n, top in enumerate((30, 64, 90, 100)) if mhz <= top)
    settings = dict(pll_n=4 * mhz, pll_p=4, pll_q=(4 * mhz) // 48 + 1, apb1_div=2, apb2_div=1,
                    flash_wait_states=waits)
    settings.update(change)
    return stm32_clock.Stm32Clock("stm32f411", "hsi", 16_000_000, 16, **settings)


def test_f411_above_84_mhz_needs_voltage_scale_1() -> None:
    """Out of reset the F411 runs in voltage scale 2 (84 MHz at most): the board's 96 MHz needs
    scale 1, written as VOS = 0b11."""
    assert _f411(84).problems() == []
    assert any("voltage scale 2 (reset) allows 84000000" in text for text in _f411(96).problems())
    assert _f411(96, voltage_scale=1).problems() == []
    assert ("BOARD_PWR_VOS", 3) in _f411(96, voltage_scale=1).definitions()
    assert any("voltage scale 3 allows 64000000" in text
               for text in _f411(84, voltage_scale=3).problems())


def test_vos_field_per_chip() -> None:
    """PWR_CR's VOS is one bit on the F405/F407 (1: scale 1), two on the others (0b11: scale 1;
    the F401 has no scale 1)."""
    f405 = dataclasses.replace(BOARDS["netduinoplus2"].clock, voltage_scale=1)
    assert ("BOARD_PWR_VOS", 1) in f405.definitions()
    f446 = BOARDS["nucleo-f446re"].clock
    assert ("BOARD_PWR_VOS", 3) in f446.definitions()
    f401 = dataclasses.replace(BOARDS["nucleo-f401re"].clock, voltage_scale=1)
    assert any("voltage scales [2, 3], not 1" in text for text in f401.problems())
    assert not any(name == "BOARD_PWR_VOS" for name, _ in BOARDS["nucleo-f401re"].clock.definitions())


def test_f446_stays_at_168_mhz_without_over_drive() -> None:
    """180 MHz needs the over-drive mode, which the firmware does not switch on."""
    f446 = BOARDS["nucleo-f446re"].clock
    fast = dataclasses.replace(f446, pll_n=360, pll_q=8, apb1_div=4, apb2_div=2)
    assert any("voltage scale 1 allows 168000000" in text for text in fast.problems())


def test_a_board_table_breaking_the_limits_is_refused(tmp_path) -> None:
    """Loading a table whose clock breaks the chip's limits fails, naming board and problem."""
    table = json.loads((TEMPLATES_DIR / "boards" / "boards.json").read_text())
    table["nucleo-f411re"]["clock"].pop("voltage_scale")
    path = tmp_path / "boards.json"
    path.write_text(json.dumps(table))
    with pytest.raises(ValueError, match=r"board nucleo-f411re: .*voltage scale 2 \(reset\)"):
        mcu_boards.load_boards(path)


def test_f401_vco_floor_is_higher() -> None:
    """The F401's VCO runs from 192 MHz and its PLLN from 192; the F405's from 100 MHz and 50."""
    slow = dict(pll_n=168, pll_p=2, pll_q=4, apb1_div=2, apb2_div=1, flash_wait_states=2)
    assert stm32_clock.Stm32Clock("stm32f405", "hsi", 16_000_000, 16, **slow).problems() == []
    f401 = stm32_clock.Stm32Clock("stm32f401", "hsi", 16_000_000, 16, **slow).problems()
    assert any("VCO output is 168000000" in text for text in f401)
    assert any("PLLN is 168, outside 192..432" in text for text in f401)


@pytest.mark.parametrize("name", ["netduinoplus2", "microbit"])
def test_qemu_entries_configure_no_pll(name: str) -> None:
    """QEMU 7.2's STM32F405 leaves the RCC unimplemented (reads give 0): waiting for PLLRDY
    would never end, so its entry keeps the rates QEMU models and builds no clock set-up."""
    board = QEMU_BOARDS[name]
    assert board.clock is None
    assert "stm32/rcc_stm32.c" not in board.sources
    assert "stm32/rcc_stm32.c" in BOARDS["netduinoplus2"].sources


def test_every_real_board_has_a_probe_and_no_emulator() -> None:
    for board in BOARDS.values():
        assert board.probe is not None and board.qemu_binary is None
        with pytest.raises(Exception, match="no emulation in QEMU"):
            board.qemu_command("fw.elf", "pty")


@pytest.mark.parametrize(("table", "name"), [("boards", "microbit"), ("boards", "nrf52840dk"),
                                             ("qemu", "microbit")])
def test_nrf_boards_start_their_crystal_first(table: str, name: str) -> None:
    """HFCLK, which the UART's baud rate and the TIMER divide, runs from the board's crystal
    before either starts (the same firmware on QEMU, whose CLOCK stub reports it started)."""
    board = (BOARDS if table == "boards" else QEMU_BOARDS)[name]
    assert "nrf/clock_nrf.c" in board.sources and "stm32/rcc_stm32.c" not in board.sources
    assert "BOARD_CLOCK_SETUP=1u" in board.definitions()


def test_boards_without_clock_set_up_build_none() -> None:
    for name in ("mps2-an386", "netduinoplus2"):
        board = QEMU_BOARDS[name]
        assert not any(source.startswith(("nrf/clock", "stm32/rcc")) for source in board.sources)
        assert not any(item.startswith("BOARD_CLOCK_SETUP") for item in board.definitions())
