"""generate_library on the QEMU template: the static archive linked with the firmware kit's
start-up and UART driver into a user's own bare-metal program, run on an emulated board."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from host.host_testlib import archive, reference
from qemu.qemu_testlib import (
    FIRMWARE_DIR,
    load_boards,
    require_tools,
    template_modules,
)

from projectapi import project

from .library_testlib import HERE, check_reply, write_reference_input

boards, qemu_transport, _ = template_modules()
# One board of each CPU family.
CASES = [
    ("mps2-an385", "qnn_dense_int8_aot_c"),
    ("mps2-an385", "mnist_aot_c"),
    ("virt-rv32", "qnn_dense_int8_aot_c"),
]
STACK_BYTES = 16 * 1024


def build_firmware(board, library_dir, input_dir, out_dir):
    """Compile the user's program with the board layer and link the library's archive."""
    script = out_dir / "link.ld"
    script.write_text(board.linker_script((FIRMWARE_DIR / "link.ld.in").read_text(), STACK_BYTES))
    image = out_dir / "user.elf"
    subprocess.run(
        [
            board.toolchain_prefix + "gcc",
            *board.compile_flags(),
            "-O2",
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            *("-D" + d for d in board.definitions()),
            "-I",
            str(FIRMWARE_DIR),
            "-I",
            str(library_dir / "include"),
            "-I",
            str(input_dir),
            *(str(FIRMWARE_DIR / s) for s in board.sources),
            str(HERE / "user_program.c"),
            str(HERE / "emit_uart.c"),
            str(library_dir / "lib" / "libtvm_model.a"),
            *board.link_flags(),
            "-T",
            str(script),
            "-o",
            str(image),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return image


def read_reply(board, image, nbytes: int, timeout: float = 60.0) -> bytes:
    """The first ``nbytes`` the firmware writes to its UART."""
    transport = qemu_transport.QemuTransport(lambda serial: board.qemu_command(str(image), serial))
    transport.open()
    try:
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < nbytes:
            data += transport.read(nbytes - len(data), max(0.0, deadline - time.monotonic()))
        return data
    finally:
        transport.close()


@pytest.mark.slow
@pytest.mark.parametrize(("board_name", "name"), CASES)
def test_bare_metal_program_produces_reference(board_name: str, name: str, tmp_path) -> None:
    require_tools(board_name)
    board = load_boards()[board_name]
    with project.TemplateProject("qemu") as template:
        assert "library" in template.generates
        library_dir = template.generate_library(
            archive(name), tmp_path / "lib", {"board": board_name, "warning_as_error": True}
        )
    settings = json.loads((library_dir / "library.json").read_text())
    assert settings["board"] == board_name
    assert (library_dir / "source" / "toolchain.cmake").is_file()
    image = build_firmware(
        board, library_dir, write_reference_input(name, tmp_path / "in"), tmp_path
    )
    _, want = reference(name)
    check_reply(name, read_reply(board, image, 8 + want.nbytes))


def test_board_is_required(tmp_path) -> None:
    with (
        project.TemplateProject("qemu") as template,
        pytest.raises(project.OptionError, match="generate_library requires option board"),
    ):
        template.generate_library(archive("mnist_aot_c"), tmp_path / "lib")
    assert not (tmp_path / "lib").exists()
