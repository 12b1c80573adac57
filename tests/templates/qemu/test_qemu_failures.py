"""Failures a user meets: emulator killed, garbled link, server killed, firmware too big.

Each ends in a clear error, leaves no QEMU running, and the next session works.
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import struct
import tarfile
import time

import numpy as np
import pytest
from host.host_testlib import archive, assert_matches, layouts, reference

import projectapi
from projectapi import standalone
from projectapi.errors import ProjectAPIError
from projectapi.micro.errors import DeviceTerminatedError, SessionError
from projectapi.project import GeneratedProject
from projectapi.server import IoTimeoutError

from .qemu_testlib import BOARDS, free_tcp_port, generate, qemu_pids

REPLY_HEADER = struct.Struct("<4siIdd")  # the standalone link protocol's reply header

QNN = "qnn_dense_int8_aot_c"


@pytest.fixture(scope="module")
def host_driven_dir(tmp_path_factory) -> pathlib.Path:
    """A built host-driven project (Cortex-M3) shared by the tests of this module."""
    project_dir = tmp_path_factory.mktemp("hd") / "project"
    generate(archive(QNN), project_dir, "mps2-an385", "host_driven").close()
    return project_dir


@pytest.fixture(scope="module")
def standalone_dir(tmp_path_factory) -> pathlib.Path:
    """A built standalone project (RISC-V) shared by the tests of this module."""
    project_dir = tmp_path_factory.mktemp("sa") / "project"
    generate(archive(QNN), project_dir, "virt-rv32", "aot_standalone").close()
    return project_dir


class GarblingTransport:
    """A project transport whose received bytes are all corrupted (a bad line, wrong baud)."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def open(self):
        return self._inner.open()

    def close(self) -> None:
        self._inner.close()

    def read(self, n: int, timeout_sec):
        return bytes(b ^ 0x5A for b in self._inner.read(n, timeout_sec))

    def write(self, data: bytes, timeout_sec) -> None:
        self._inner.write(data, timeout_sec)

    def __enter__(self) -> GarblingTransport:
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def wait_gone(project_dir: pathlib.Path, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while qemu_pids(project_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    return qemu_pids(project_dir)


def run_host_driven(project: GeneratedProject) -> None:
    """A full, correct host-driven inference (proves the project recovered)."""
    x, want = reference(QNN)
    with projectapi.Session(project.transport()) as session:
        executor = session.create_aot_executor()
        executor.set_input(0, x)
        executor.run()
        assert_matches(executor.get_output(0), want)


def run_standalone(
    project: GeneratedProject, transport=None, **options
) -> standalone.StandaloneResult:
    ins, outs = layouts(QNN)
    x, want = reference(QNN)
    with transport or project.transport(options) as link:
        result = standalone.StandaloneRunner(link, ins, outs).run({ins[0].name: x}, repeat=3)
    assert_matches(result.outputs[outs[0].name], want)
    return result


@pytest.mark.slow
def test_qemu_killed_mid_session(host_driven_dir: pathlib.Path) -> None:
    with GeneratedProject(host_driven_dir) as project:
        with projectapi.Session(project.transport()) as session:
            executor = session.create_aot_executor()
            (pid,) = qemu_pids(host_driven_dir)
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(DeviceTerminatedError, match="closed"):
                executor.run()
        assert wait_gone(host_driven_dir) == []
        run_host_driven(project)
    assert qemu_pids(host_driven_dir) == []


@pytest.mark.slow
def test_garbled_link_fails_the_handshake(host_driven_dir: pathlib.Path) -> None:
    with GeneratedProject(host_driven_dir) as project:
        garbled = GarblingTransport(project.transport())
        started = time.monotonic()
        with pytest.raises(SessionError, match="handshake"):
            projectapi.Session(garbled, start_timeout_sec=3.0).open()
        assert time.monotonic() - started < 10.0
        assert qemu_pids(host_driven_dir) == []
        run_host_driven(project)
    assert qemu_pids(host_driven_dir) == []


@pytest.mark.slow
def test_standalone_killed_and_garbled(standalone_dir: pathlib.Path) -> None:
    ins, outs = layouts(QNN)
    x, _ = reference(QNN)
    with GeneratedProject(standalone_dir) as project:
        with project.transport() as link:
            runner = standalone.StandaloneRunner(link, ins, outs)
            os.kill(qemu_pids(standalone_dir)[0], signal.SIGKILL)
            with pytest.raises(Exception, match=r"TransportClosedError|closed|exited"):
                runner.run({ins[0].name: x}, repeat=1)
        assert wait_gone(standalone_dir) == []
        with pytest.raises(standalone.StandaloneError):
            run_standalone(project, GarblingTransport(project.transport()))
        assert qemu_pids(standalone_dir) == []
        run_standalone(project)
    assert qemu_pids(standalone_dir) == []


@pytest.mark.slow
def test_corrupt_image_is_refused_before_starting_qemu(standalone_dir: pathlib.Path) -> None:
    image = standalone_dir / "build" / "firmware.elf"
    good = image.read_bytes()
    try:
        image.write_bytes(b"garbage")
        with GeneratedProject(standalone_dir) as project:
            with pytest.raises(ProjectAPIError, match="not a 32-bit riscv ELF image"):
                project.transport().open()
            assert qemu_pids(standalone_dir) == []
    finally:
        image.write_bytes(good)


@pytest.mark.slow
def test_icount_timing_is_exactly_repeatable(standalone_dir: pathlib.Path) -> None:
    with GeneratedProject(standalone_dir) as project:
        first = run_standalone(project, icount=True)
        second = run_standalone(project, icount=True)
    # One instruction per virtual nanosecond: the same work takes the same time, give or take the
    # phase of the timer's tick (100 ns for the virt board's 10 MHz mtime).
    tick = 1.0 / BOARDS["virt-rv32"]["timer"]["hz"]
    assert first.fastest_seconds > 0
    assert abs(first.fastest_seconds - second.fastest_seconds) <= tick * 1.001
    assert qemu_pids(standalone_dir) == []


@pytest.mark.slow
def test_killed_server_takes_qemu_with_it(standalone_dir: pathlib.Path) -> None:
    project = GeneratedProject(standalone_dir)
    try:
        project.transport().open()
        (pid,) = qemu_pids(standalone_dir)
        server_pid = int(pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        os.kill(server_pid, signal.SIGKILL)
        assert wait_gone(standalone_dir) == []
    finally:
        project.close()


def too_big_archive(tmp_path: pathlib.Path) -> pathlib.Path:
    """MNIST with 1.2 MB more constants: more than any board's flash."""
    src = tmp_path / "mlf"
    with tarfile.open(archive("mnist_aot_c")) as tar:
        tar.extractall(src, filter="data")
    lib0 = src / "codegen" / "host" / "src" / "default_lib0.c"
    text = lib0.read_text()
    marker = "} global_const_workspace = {"
    assert marker in text
    lib0.write_text(text.replace(marker, "  float padding_let[300000];\n" + marker, 1))
    out = tmp_path / "too_big.tar"
    with tarfile.open(out, "w") as tar:
        for path in sorted(src.rglob("*")):
            tar.add(path, arcname=path.relative_to(src).as_posix(), recursive=False)
    return out


@pytest.mark.slow
def test_model_too_big_is_refused_at_build(tmp_path: pathlib.Path) -> None:
    project_dir = tmp_path / "project"
    with pytest.raises(ProjectAPIError, match=r"flash overflows by \d+ bytes"):
        generate(too_big_archive(tmp_path), project_dir, "mps2-an386", "aot_standalone")
    assert not (project_dir / "build" / "firmware.elf").exists()
    with (
        GeneratedProject(project_dir) as project,
        pytest.raises(ProjectAPIError, match="not built"),
    ):
        project.transport().open()


@pytest.mark.slow
def test_workspace_too_big_is_refused_at_build(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ProjectAPIError, match=r"RAM overflows by \d+ bytes.*workspace pool"):
        generate(
            archive(QNN),
            tmp_path / "p",
            "mps2-an385",
            "aot_standalone",
            workspace_size_bytes=256 * 1024,
        )


def test_unknown_board_is_refused_before_generating(tmp_path: pathlib.Path) -> None:
    from projectapi.project import OptionError, TemplateProject

    with TemplateProject("qemu") as template, pytest.raises(OptionError, match="mps2-an385"):
        template.generate_project(archive(QNN), tmp_path / "p", {"board": "stm32"})
    assert not (tmp_path / "p").exists()


@pytest.mark.slow
def test_gdbserver_holds_the_cpu_until_continued(standalone_dir: pathlib.Path) -> None:
    port = free_tcp_port()
    x, want = reference(QNN)
    with (
        GeneratedProject(standalone_dir) as project,
        project.transport({"gdbserver_port": port}) as link,
    ):
        link.write(standalone.encode_request([x.tobytes()], 1), 5.0)
        with pytest.raises(IoTimeoutError):
            link.read(1, 0.5)  # halted: the firmware has not started
        with socket.create_connection(("127.0.0.1", port), timeout=5.0) as gdb:
            gdb.sendall(b"+$c#63")  # GDB remote protocol: continue
            reply = b""
            while len(reply) < REPLY_HEADER.size + want.nbytes:
                reply += link.read(REPLY_HEADER.size + want.nbytes - len(reply), 10.0)
    magic, status, *_ = REPLY_HEADER.unpack_from(reply)
    assert (magic, status) == (b"PAO1", 0)
    assert_matches(np.frombuffer(reply[REPLY_HEADER.size :], want.dtype), want)
    assert qemu_pids(standalone_dir) == []
