"""The flash runners: OpenOCD's command line, and the errors users meet first: no probe
attached, tool missing (naming how to install it), no image."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from microtvm_kit import mcu_boards, openocd_runner, pyocd_runner
from microtvm_kit.errors import FlashError, FlashToolMissingError, NoProbeError
from projectapi.cli import main
from projectapi.project import TEMPLATES_DIR

BOARDS = mcu_boards.load_boards(TEMPLATES_DIR / "boards" / "boards.json")


@pytest.fixture
def image(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "dir with space" / "firmware.elf"
    path.parent.mkdir()
    path.write_bytes(b"\x7fELF")
    return path


def test_openocd_command_line(image: pathlib.Path) -> None:
    argv = openocd_runner.command(image, "stlink", "stm32f4x")
    assert argv == ["openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32f4x.cfg",
                    "-c", f"program {{{image}}} verify reset exit"]
    chosen = openocd_runner.command(image, "cmsis-dap", "nrf51", probe_serial="9900")
    assert chosen[chosen.index("adapter serial 9900") - 1] == "-c"
    assert chosen[2] == "interface/cmsis-dap.cfg" and chosen[6] == "target/nrf51.cfg"
    assert chosen[3:5] == ["-c", "transport select swd"]  # before the target reads it
    with pytest.raises(ValueError, match="interface must be one of"):
        openocd_runner.command(image, "usb", "nrf51")


def test_openocd_missing_says_how_to_install(image, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without openocd
    with pytest.raises(FlashToolMissingError, match="apt-get install openocd"):
        openocd_runner.flash(image, "stlink", "stm32f4x")


@pytest.mark.skipif(shutil.which("openocd") is None,
                    reason="openocd is not installed (scripts/install-deps.sh installs it)")
@pytest.mark.parametrize("interface", sorted(openocd_runner.INTERFACES))
def test_openocd_without_a_probe(image, interface: str) -> None:
    """The real OpenOCD, on a machine with no probe attached."""
    with pytest.raises(NoProbeError, match=f"no {interface} debug probe found.*device list"):
        openocd_runner.flash(image, interface, "stm32f4x")


@pytest.mark.skipif(shutil.which("openocd") is None,
                    reason="openocd is not installed (scripts/install-deps.sh installs it)")
@pytest.mark.parametrize("probe", sorted({(board.probe.openocd_interface, board.probe.openocd_target)
                                          for board in BOARDS.values()}))
def test_openocd_reads_every_boards_configuration(probe) -> None:
    """The real OpenOCD gets through each board's interface, transport and target files (a
    J-Link left on JTAG fails here on the SWD-only nRF52)."""
    interface, target = probe
    result = subprocess.run(
        ["openocd", *openocd_runner.configuration(interface, target), "-c", "shutdown"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Error" not in result.stderr


def test_pyocd_without_a_probe(image) -> None:
    """pyOCD's real probe scan, on a machine with no probe attached."""
    assert pyocd_runner.probe_ids() == []
    with pytest.raises(NoProbeError, match="no debug probe found with id 123"):
        pyocd_runner.flash(image, "nrf51", probe_id="123")


def test_pyocd_missing_says_how_to_install(tmp_path) -> None:
    """In a Python where pyOCD cannot be imported (blocked in sys.modules)."""
    code = (
        "import sys, pathlib; sys.modules['pyocd'] = None\n"
        "from microtvm_kit import pyocd_runner\n"
        "pyocd_runner.flash(pathlib.Path('x.elf'), 'nrf51')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ), check=False)
    assert result.returncode != 0
    assert "FlashToolMissingError" in result.stderr
    assert "pip install 'projectapi[pyocd]'" in result.stderr


def test_no_image_to_flash(tmp_path) -> None:
    with pytest.raises(FlashError, match="build the project first"):
        pyocd_runner.flash(tmp_path / "missing.elf", "nrf51")


def test_flash_command_reports_no_probe(image, capsys) -> None:
    assert main(["device", "flash", str(image), "--target", "nrf51"]) == 1
    assert "error: no debug probe found" in capsys.readouterr().err
