"""The boards table: complete, consistent, and turned into a linker script and QEMU commands."""

from __future__ import annotations

import re

import pytest

from .qemu_testlib import BOARD_NAMES, FIRMWARE_DIR, load_boards, template_modules

boards, _, _ = template_modules()
TABLE = load_boards()


def test_table_has_the_required_boards() -> None:
    assert {"mps2-an385", "mps2-an386", "mps3-an547"} <= set(TABLE)
    assert any(board.arch == "riscv" for board in TABLE.values())
    assert sorted(TABLE) == BOARD_NAMES


@pytest.mark.parametrize("name", BOARD_NAMES)
def test_board_flags_and_limits(name: str) -> None:
    board = TABLE[name]
    flags = board.compile_flags()
    assert "-ffp-contract=off" in flags
    has_fpu = any(flag in ("-mfloat-abi=hard",) for flag in flags)
    assert has_fpu == (name in ("mps2-an386", "mps3-an547", "netduinoplus2"))
    # A realistic chip, not the emulated board's whole memory.
    assert 16 * 1024 <= board.ram.size <= 1024 * 1024
    assert 64 * 1024 <= board.flash.size <= 2 * 1024 * 1024
    assert board.timer_hz > 0


@pytest.mark.parametrize("name", BOARD_NAMES)
def test_linker_script_is_filled_in(name: str) -> None:
    board = TABLE[name]
    script = board.linker_script((FIRMWARE_DIR / "link.ld.in").read_text(), 4096)
    assert not re.search(r"@[A-Z_]+@", script)  # every placeholder replaced
    assert f"LENGTH = {board.flash.size}" in script
    assert f"LENGTH = {board.ram.size}" in script
    assert "STACK_BYTES = 4096;" in script


@pytest.mark.parametrize("name", BOARD_NAMES)
def test_qemu_command(name: str) -> None:
    board = TABLE[name]
    plain = board.qemu_command("fw.elf", "tcp:127.0.0.1:1")
    assert plain[0] == board.qemu_binary
    assert plain[plain.index("-machine") + 1] == board.qemu_machine
    assert plain[plain.index("-kernel") + 1] == "fw.elf"
    assert "-icount" not in plain and "-S" not in plain
    timed = board.qemu_command("fw.elf", "x", icount=True, gdbserver_port=1234)
    assert timed[timed.index("-icount") + 1] == "shift=0"
    assert "tcp:127.0.0.1:1234" in timed and "-S" in timed


def test_definitions_name_the_board_layer_parameters() -> None:
    defs = TABLE["mps2-an385"].definitions()
    assert "BOARD_UART_BASE=0x40004000u" in defs
    assert "BOARD_UART_RX_IRQ=0u" in defs
    assert any(re.fullmatch(r"BOARD_TIMER_HZ=\d+u", d) for d in defs)
