"""The boards template on this machine, with no board attached: every board's firmware builds
with the cross compiler (int8 model, standalone and host-driven) into an image whose vector
table opens the flash, whose initial stack pointer is the top of RAM, and whose sizes fit; MNIST is refused where it does not fit, with the board's
numbers; flash says no probe is attached (or how to install the missing tool); open_transport
says which serial ports are attached when none matches."""

from __future__ import annotations

import json
import pathlib
import shutil
import struct
import subprocess

import pytest
from host.host_testlib import archive, assert_matches, reference

import projectapi
from microtvm_kit import mcu_boards
from projectapi.errors import ProjectAPIError
from projectapi.project import TEMPLATES_DIR, GeneratedProject, TemplateProject

BOARDS = mcu_boards.load_boards(TEMPLATES_DIR / "boards" / "boards.json")
QNN = "qnn_dense_int8_aot_c"
PROJECT_TYPES = ("aot_standalone", "host_driven")
_PT_LOAD = 1

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None,
    reason="arm-none-eabi-gcc is not installed (scripts/install-deps.sh installs it)",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[tuple[str, str], pathlib.Path]:
    """One built int8 project per board and project type, shared by the module's tests."""
    root = tmp_path_factory.mktemp("boards")
    projects = {}
    with TemplateProject("boards") as template:
        for board in sorted(BOARDS):
            for project_type in PROJECT_TYPES:
                project_dir = root / f"{board}-{project_type}"
                options = {"board": board, "project_type": project_type, "warning_as_error": True}
                with template.generate_project(archive(QNN), project_dir, options) as project:
                    project.build()
                projects[board, project_type] = project_dir
    return projects


def load_segments(image: pathlib.Path) -> list[tuple[int, bytes]]:
    """(physical address, file bytes) of the ELF32 little-endian image's loadable segments."""
    data = image.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 1 and data[5] == 1
    phoff, = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    segments = []
    for index in range(phnum):
        kind, offset, _, paddr, filesz = struct.unpack_from("<5I", data, phoff + index * phentsize)
        if kind == _PT_LOAD and filesz:
            segments.append((paddr, data[offset : offset + filesz]))
    return segments


def symbols(image: pathlib.Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-nm", str(image)], capture_output=True, text=True,
                         check=True).stdout
    return {name: int(value, 16) for value, _, name in (line.split() for line in out.splitlines()
                                                          if len(line.split()) == 3)}


@pytest.mark.slow
@pytest.mark.parametrize("project_type", PROJECT_TYPES)
@pytest.mark.parametrize("name", sorted(BOARDS))
def test_image_fits_the_board(built, name: str, project_type: str) -> None:
    board = BOARDS[name]
    project_dir = built[name, project_type]
    image = project_dir / "build" / "firmware.elf"
    table = symbols(image)
    # The vector table opens the flash: initial SP, then the reset handler (Thumb bit set).
    first = min(load_segments(image))
    assert first[0] == board.flash.origin == table["vector_table"]
    initial_sp, reset = struct.unpack_from("<II", first[1])
    assert reset == table["reset_handler"] | 1
    assert board.flash.origin <= reset < board.flash.origin + board.flash.size
    # The initial SP is the top of the board's RAM; the stack below it clears .bss.
    assert initial_sp == table["__stack_top"] == board.ram.origin + board.ram.size
    assert initial_sp - board.memory.stack_bytes >= table["__bss_end"]
    report = json.loads((project_dir / "memory_report.json").read_text())
    assert (report["flash_limit"], report["ram_limit"]) == (board.flash.size, board.ram.size)
    assert report["flash_used"] <= board.flash.size and report["ram_used"] <= board.ram.size
    # The clock set-up is in exactly when the board builds one: STM32 PLL, nRF crystal.
    assert ("board_clock_init" in table) == ("BOARD_CLOCK_SETUP=1u" in board.definitions())
    assert "board_clock_init" in table or board.clock is None


@pytest.mark.slow
def test_mnist_does_not_fit_the_microbit(tmp_path) -> None:
    options = {"board": "microbit", "project_type": "aot_standalone"}
    with TemplateProject("boards") as template:
        project = template.generate_project(archive("mnist_aot_c"), tmp_path / "p", options)
    with project, pytest.raises(ProjectAPIError) as info:
        project.build()
    message = str(info.value)
    assert "does not fit board microbit: RAM overflows by" in message
    assert "used of 16384" in message
    assert not (tmp_path / "p" / "build" / "firmware.elf").exists()


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["pyocd", "openocd"])
def test_flash_without_a_probe(built, runner: str) -> None:
    """pyOCD (installed with projectapi's extras) and OpenOCD (Debian) scan for real."""
    if runner == "openocd" and shutil.which("openocd") is None:
        pytest.skip("openocd is not installed (scripts/install-deps.sh installs it)")
    with GeneratedProject(built["nucleo-f401re", "host_driven"]) as project, pytest.raises(ProjectAPIError, match="NoProbeError") as info:
        project.flash({"runner": runner})
    assert "debug probe found" in str(info.value) and "plug the board in" in str(info.value)


@pytest.mark.slow
def test_flash_without_openocd_says_how_to_install(built, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # the server starts without openocd on its PATH
    with GeneratedProject(built["nrf52840dk", "host_driven"]) as project, pytest.raises(ProjectAPIError, match="apt-get install openocd"):
        project.flash({"runner": "openocd"})


@pytest.mark.slow
def test_open_transport_names_the_attached_ports(built) -> None:
    with GeneratedProject(built["microbit", "host_driven"]) as project:
        transport = project.transport({"serial_number": "no-such-board"})
        with pytest.raises(ProjectAPIError, match="BoardNotFoundError") as info:
            transport.open()
    assert "no serial port matches serial number no-such-board" in str(info.value)
    assert "attached:" in str(info.value)


@pytest.mark.slow
def test_open_transport_looks_for_every_usb_id_of_the_boards_probe(built) -> None:
    """Without options the nRF52840-DK's port is its J-Link OB's, under either USB ID its
    firmware versions use."""
    with GeneratedProject(built["nrf52840dk", "host_driven"]) as project:
        transport = project.transport()
        with pytest.raises(ProjectAPIError, match="BoardNotFoundError") as info:
            transport.open()
    assert "USB ID 1366:1015 or 1366:1051" in str(info.value)


@pytest.mark.slow
def test_open_transport_needs_a_port_for_boards_without_one(built) -> None:
    with GeneratedProject(built["netduinoplus2", "host_driven"]) as project, pytest.raises(ProjectAPIError, match="give the port option"):
        project.transport().open()


def test_unknown_runner_is_refused(tmp_path) -> None:
    options = {"board": "microbit", "runner": "jtag"}
    with TemplateProject("boards") as template, pytest.raises(ProjectAPIError, match="runner"):
        template.generate_project(archive(QNN), tmp_path / "p", options)
    assert not (tmp_path / "p").exists()


@pytest.fixture
def qemu(monkeypatch):
    """The QEMU template's boards and pty transport, for running this template's images."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm is not installed (scripts/install-deps.sh installs it)")
    from qemu.qemu_testlib import load_boards, template_modules

    template_modules()  # puts the QEMU template's modules on the import path
    import qemu_pty_transport

    return load_boards(), qemu_pty_transport


@pytest.mark.slow
def test_microbit_image_runs_on_qemu_over_the_serial_path(built, qemu) -> None:
    """The micro:bit's image from this template (nothing QEMU-specific in it) serves a
    host-driven session on QEMU's microbit, through its UART on a pseudo-terminal."""
    qemu_boards, qemu_pty_transport = qemu
    image = built["microbit", "host_driven"] / "build" / "firmware.elf"
    board = qemu_boards["microbit"]
    transport = qemu_pty_transport.QemuPtyTransport(
        lambda serial: board.qemu_command(str(image), serial)
    )
    x, want = reference(QNN)
    with projectapi.Session(transport) as session:
        executor = session.create_aot_executor()
        executor.set_input(0, x)
        executor.run()
        assert_matches(executor.get_output(0), want)


@pytest.mark.slow
def test_qemu_does_not_model_the_stm32_rcc(built, qemu) -> None:
    """Why the QEMU template's netduinoplus2 sets up no PLL: QEMU 7.2 logs the PLL set-up's
    accesses as unimplemented, and the firmware keeps reading RCC_CR for PLLRDY."""
    qemu_boards, _ = qemu
    image = built["netduinoplus2", "aot_standalone"] / "build" / "firmware.elf"
    argv = [*qemu_boards["netduinoplus2"].qemu_command(str(image), "null"), "-d", "unimp"]
    with subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) as process:
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
        log = process.stderr.read()
    pllcfgr = BOARDS["netduinoplus2"].clock.pllcfgr()
    assert f"RCC: unimplemented device write (size 4, offset 0x004, value 0x{pllcfgr:08x})" in log
    assert log.count("RCC: unimplemented device read  (size 4, offset 0x000)") > 100
