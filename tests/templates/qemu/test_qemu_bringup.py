"""The board layer alone on every board: start-up, UART with receive interrupt, sleep in wfi."""

from __future__ import annotations

import pathlib
import subprocess
import time

import pytest

from .qemu_testlib import (
    BOARD_NAMES,
    FIRMWARE_DIR,
    load_boards,
    qemu_pids,
    require_tools,
    template_modules,
)

boards, qemu_transport, _ = template_modules()
ECHO_SOURCE = pathlib.Path(__file__).with_name("echo_firmware.c")


def build_echo(board, out_dir: pathlib.Path) -> pathlib.Path:
    """Compile the echo firmware with the board layer and the board's linker script."""
    script = out_dir / "link.ld"
    script.write_text(board.linker_script((FIRMWARE_DIR / "link.ld.in").read_text(), 4096))
    image = out_dir / "echo.elf"
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
            *(str(FIRMWARE_DIR / s) for s in board.sources),
            str(ECHO_SOURCE),
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


@pytest.fixture(scope="module", params=BOARD_NAMES)
def echo_image(request, tmp_path_factory):
    """(board, echo firmware image) for each board, built once."""
    require_tools(request.param)
    board = load_boards()[request.param]
    return board, build_echo(board, tmp_path_factory.mktemp(request.param))


def read_exactly(transport, n: int, timeout: float) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < n:
        data += transport.read(n - len(data), max(0.0, deadline - time.monotonic()))
    return data


@pytest.mark.slow
def test_echo_round_trip(echo_image) -> None:
    board, image = echo_image
    transport = qemu_transport.QemuTransport(lambda serial: board.qemu_command(str(image), serial))
    transport.open()
    try:
        # QEMU connects before the machine runs: nothing is lost, the greeting included.
        assert read_exactly(transport, 6, 5.0) == b"hello\n"
        # More than the firmware's 4 KiB receive buffer, in one burst, while the firmware is
        # busy for 0.5 s (timer): receiving pauses when the buffer is full, no byte is lost.
        payload = bytes(range(256)) * 40
        started = time.monotonic()
        transport.write(payload, 10.0)
        first = read_exactly(transport, 1, 10.0)
        assert time.monotonic() - started >= 0.3  # the timer ran: nothing came back early
        assert first + read_exactly(transport, len(payload) - 1, 20.0) == payload
        with pytest.raises(server.IoTimeoutError):
            transport.read(1, 0.2)  # nothing more to come
        # Idle firmware sleeps in wfi: QEMU uses almost no CPU while nothing happens.
        stat = pathlib.Path(f"/proc/{transport.pid}/stat")
        before = _cpu_seconds(stat)
        time.sleep(1.0)
        assert _cpu_seconds(stat) - before < 0.5
    finally:
        transport.close()
    assert qemu_pids(image) == []


@pytest.mark.slow
def test_qemu_start_failure_reports_stderr(echo_image) -> None:
    board, image = echo_image
    transport = qemu_transport.QemuTransport(
        lambda serial: [*board.qemu_command(str(image), serial), "-no-such-option"]
    )
    with pytest.raises(qemu_transport.QemuStartError, match="no-such-option"):
        transport.open()
    assert not transport.is_open
    assert qemu_pids(image) == []


@pytest.mark.slow
def test_image_qemu_cannot_load_is_reported_on_first_read(tmp_path) -> None:
    require_tools("mps2-an385")
    board = load_boards()["mps2-an385"]
    bogus = tmp_path / "not-an-image.elf"
    bogus.write_bytes(b"\x7fELF garbage")
    transport = qemu_transport.QemuTransport(lambda serial: board.qemu_command(str(bogus), serial))
    transport.open()
    try:
        with pytest.raises(server.TransportClosedError, match="QEMU exited with status"):
            transport.read(1, 10.0)
    finally:
        transport.close()
    assert qemu_pids(bogus) == []


def _cpu_seconds(stat: pathlib.Path) -> float:
    import os

    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


from projectapi import server  # noqa: E402
