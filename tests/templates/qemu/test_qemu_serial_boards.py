"""Emulations of boards users own (Netduino Plus 2, micro:bit) over the serial-port path: QEMU's
UART on a pseudo-terminal opened with pyserial. Every archive that fits runs standalone and
host-driven, equal to the reference; one that does not fit is refused with the board's numbers;
QEMU killed mid-session ends in TransportClosedError, never a hang."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from host.host_testlib import AOT_ARCHIVES, archive, assert_matches, check_standalone, reference

import projectapi
from projectapi.errors import ProjectAPIError
from projectapi.micro.errors import DeviceTerminatedError
from projectapi.project import GeneratedProject, TemplateProject
from projectapi.server import TransportClosedError

from .qemu_testlib import generate, qemu_pids

QNN = "qnn_dense_int8_aot_c"
CASES = [("netduinoplus2", name) for name in AOT_ARCHIVES] + [("microbit", QNN)]


@pytest.mark.slow
@pytest.mark.parametrize(("board", "name"), CASES)
def test_standalone_over_pty_matches_reference(board: str, name: str, tmp_path) -> None:
    project_dir = tmp_path / "project"
    with generate(archive(name), project_dir, board, "aot_standalone", uart="pty") as project:
        result = check_standalone(project, name, repeat=2)
        assert result.fastest_seconds > 0
    assert qemu_pids(project_dir) == []


@pytest.mark.slow
@pytest.mark.parametrize(("board", "name"), CASES)
def test_host_driven_over_pty_matches_reference(board: str, name: str, tmp_path) -> None:
    project_dir = tmp_path / "project"
    x, want = reference(name)
    with generate(archive(name), project_dir, board, "host_driven", uart="pty") as project, \
            projectapi.Session(project.transport()) as session:
        executor = session.create_aot_executor()
        executor.set_input(0, x)
        executor.run()
        assert_matches(executor.get_output(0), want)
        assert all(t > 0 for t in executor.benchmark(number=1, repeat=2).results)
    assert qemu_pids(project_dir) == []


@pytest.mark.slow
def test_mnist_is_refused_on_the_microbit_with_its_numbers(tmp_path) -> None:
    project_dir = tmp_path / "project"
    with pytest.raises(ProjectAPIError) as caught:
        generate(archive("mnist_aot_c"), project_dir, "microbit", "aot_standalone")
    message = str(caught.value)
    assert "does not fit board microbit" in message
    assert "of 16384" in message  # the micro:bit's 16 KiB of RAM
    assert "largest user is the model" in message
    assert not (project_dir / "build" / "firmware.elf").exists()


@pytest.fixture(scope="module")
def netduino_host_driven(tmp_path_factory):
    """A host-driven QNN project for netduinoplus2 on the pty path, built once."""
    project_dir = tmp_path_factory.mktemp("netduino") / "project"
    generate(archive(QNN), project_dir, "netduinoplus2", "host_driven", uart="pty").close()
    return project_dir


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_unplugging_mid_session_ends_the_session(netduino_host_driven) -> None:
    with GeneratedProject(netduino_host_driven) as project, \
            projectapi.Session(project.transport()) as session:
        executor = session.create_aot_executor()
        executor.run()
        (pid,) = qemu_pids(netduino_host_driven)
        os.kill(pid, signal.SIGKILL)  # the board is "unplugged"
        with pytest.raises(DeviceTerminatedError, match="exited with status -9"):
            executor.run()
    assert qemu_pids(netduino_host_driven) == []


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_unplugging_ends_a_blocking_read(netduino_host_driven) -> None:
    with GeneratedProject(netduino_host_driven) as project, project.transport() as transport:
        (pid,) = qemu_pids(netduino_host_driven)
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
        started = time.monotonic()
        with pytest.raises(TransportClosedError, match="exited with status -9"):
            while True:  # waits without limit: only the hang-up ends it
                transport.read(4096, None)
        assert time.monotonic() - started < 5.0
        with pytest.raises(TransportClosedError):
            transport.write(b"x", 1.0)
    assert qemu_pids(netduino_host_driven) == []


def test_unknown_uart_link_is_refused(tmp_path) -> None:
    with TemplateProject("qemu") as template, pytest.raises(ProjectAPIError, match="uart must be"):
        template.generate_project(
            archive(QNN), tmp_path / "p", {"board": "microbit", "uart": "usb"}
        )
    assert not (tmp_path / "p").exists()


@pytest.mark.slow
def test_socket_link_waits_for_the_usart_too(tmp_path) -> None:
    """STM32's USART drops bytes before the firmware enables it; every new session (a new
    QEMU) over the socket link must still get the host's first request through."""
    project_dir = tmp_path / "project"
    with generate(archive(QNN), project_dir, "netduinoplus2", "aot_standalone") as project:
        for _ in range(3):
            check_standalone(project, QNN, repeat=1)
    assert qemu_pids(project_dir) == []
