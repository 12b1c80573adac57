"""Shared helpers of the QEMU template tests: boards, tools, projects and leftover processes."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import sys

import pytest

import microtvm_kit
from projectapi.project import TEMPLATES_DIR, GeneratedProject, TemplateProject

TEMPLATE_DIR = TEMPLATES_DIR / "qemu"
# The board layer of the bare-metal templates (a project's firmware/ folder).
FIRMWARE_DIR = pathlib.Path(microtvm_kit.FIRMWARE_C_DIR) / "bare_metal"
BOARDS = json.loads((TEMPLATE_DIR / "boards.json").read_text())
BOARD_NAMES = sorted(BOARDS)
# Emulations of boards users own: tested over the pseudo-terminal (serial port) path, in
# test_qemu_serial_boards.py; the others over the socket path.
SERIAL_BOARDS = ("microbit", "netduinoplus2")
SOCKET_BOARDS = [name for name in BOARD_NAMES if name not in SERIAL_BOARDS]
_TOOLS = {
    "arm": ("arm-none-eabi-gcc", "qemu-system-arm"),
    "riscv": ("riscv64-unknown-elf-gcc", "qemu-system-riscv32"),
}


def template_modules():
    """The modules a QEMU project runs on: the boards table (``mcu_boards``), the template's
    own ``qemu_transport`` (importable here), and ``firmware_report``.

    The template's module imports ``microtvm_kit``, installed with projectapi and copied into
    projects.
    """
    if str(TEMPLATE_DIR) not in sys.path:
        sys.path.insert(0, str(TEMPLATE_DIR))
    import qemu_transport

    from microtvm_kit import firmware_report, mcu_boards

    return mcu_boards, qemu_transport, firmware_report


def load_boards():
    """The QEMU template's boards table."""
    from microtvm_kit import mcu_boards

    return mcu_boards.load_boards(TEMPLATE_DIR / "boards.json")


def require_tools(board: str) -> None:
    """Skip unless the board's cross compiler and emulator are installed."""
    for tool in _TOOLS[BOARDS[board]["arch"]]:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/install-deps.sh installs it)")


def free_tcp_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def qemu_pids(marker: str | os.PathLike[str]) -> list[int]:
    """Running QEMU processes whose command line mentions ``marker`` (e.g. a project dir)."""
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if (
            state != "Z"
            and argv
            and b"qemu-system" in argv[0]
            and any(str(marker).encode() in arg for arg in argv)
        ):
            pids.append(int(entry.name))
    return pids


def generate(
    mlf: pathlib.Path, project_dir: pathlib.Path, board: str, project_type: str, **options
) -> GeneratedProject:
    """Generate and build a project (warnings are errors); the caller closes it."""
    require_tools(board)
    settings = {"board": board, "project_type": project_type, "warning_as_error": True}
    settings.update(options)
    with TemplateProject("qemu") as template:
        project = template.generate_project(mlf, project_dir, settings)
    try:
        memory = project.build()
        # build() returns the memory report it also writes beside the project.
        assert memory == json.loads((project_dir / "memory_report.json").read_text())
    except BaseException:
        project.close()
        raise
    return project
