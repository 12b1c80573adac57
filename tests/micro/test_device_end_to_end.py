"""The Python host against our C runtime over real pipes: AOT, both graph executors, profiling,
large packets and a link that corrupts bytes."""

from __future__ import annotations

import os
import pathlib
import random
import select
import subprocess
import sys
import tarfile
from dataclasses import dataclass

import numpy as np
import pytest

from projectapi.micro import Session, SessionError

from .transcripts import MLF_DIR, mlf_input_output

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "runtime"))
from runtime_testlib import (
    C_DIR,
    KNOWN_GENERATED_WARNINGS,
    build_runtime,
    compile_c,
    extract_mlf,
    link_group,
    write_config,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MLF_DIR.is_dir(), reason="shared MLF archives absent"),
]

LIBS = (
    "common",
    "memory",
    "microtvm_rpc_common",
    "microtvm_rpc_server",
    "aot_executor",
    "aot_executor_module",
    "graph_executor",
    "graph_executor_module",
    "platform_posix",
)
MODELS = ("mnist_aot_packed_syslib", "mnist_graph", "mnist_graph_params")
PACKET_SIZE = 32 * 1024  # room for mnist's graph JSON and params in one message
TIMEOUT_SEC = 20.0


class PipeTransport:
    """A device program's stdin/stdout as a transport (read returns what has arrived)."""

    def __init__(self, exe: pathlib.Path) -> None:
        self._exe = exe
        self._proc: subprocess.Popen[bytes] | None = None

    def open(self) -> dict[str, float]:
        self._proc = subprocess.Popen(
            [str(self._exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        return {"session_start_timeout_sec": TIMEOUT_SEC, "session_established_timeout_sec": 5}

    def close(self) -> None:
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        self._proc.stdin.close()
        self._proc.stdout.close()
        self._proc.kill()
        self._proc.wait()

    def read(self, n: int, timeout_sec: float | None) -> bytes:
        assert self._proc is not None and self._proc.stdout
        fd = self._proc.stdout.fileno()
        if not select.select([fd], [], [], timeout_sec)[0]:
            raise TimeoutError(f"no bytes within {timeout_sec} s")
        data = os.read(fd, n)
        if not data:
            raise EOFError("device program exited")
        return data

    def write(self, data: bytes, timeout_sec: float | None) -> None:
        assert self._proc is not None and self._proc.stdin
        self._proc.stdin.write(data)
        self._proc.stdin.flush()


class NoisyTransport(PipeTransport):
    """Corrupts, drops or duplicates about 1% of the bytes in each direction."""

    def __init__(self, exe: pathlib.Path, seed: int) -> None:
        super().__init__(exe)
        self._rng = random.Random(seed)

    def open(self) -> dict[str, float]:
        super().open()
        return {"session_start_retry_timeout_sec": 0.5, "session_start_timeout_sec": 5}

    def _mangle(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            roll = self._rng.random()
            if roll < 0.0033:
                out.append(byte ^ (1 << self._rng.randrange(8)))
            elif roll < 0.0066:
                continue
            elif roll < 0.01:
                out += bytes((byte, byte))
            else:
                out.append(byte)
        return bytes(out)

    def read(self, n: int, timeout_sec: float | None) -> bytes:
        return self._mangle(super().read(n, timeout_sec))

    def write(self, data: bytes, timeout_sec: float | None) -> None:
        super().write(self._mangle(data), timeout_sec)


GRAPH_LIBS = ("graph_executor", "graph_executor_module")


@dataclass(frozen=True)
class Devices:
    """Device programs per model, and whether the runtime has a graph executor."""

    programs: dict[str, pathlib.Path]
    has_graph: bool

    def __getitem__(self, model: str) -> pathlib.Path:
        return self.programs[model]


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Devices:
    """Builds the runtime and one device program per model."""
    root = tmp_path_factory.mktemp("e2e")
    cfg = write_config(root / "cfg", TVM_CRT_MAX_PACKET_SIZE_BYTES=PACKET_SIZE)
    libs = build_runtime(root / "build", cfg, libs=";".join(LIBS))
    names = [name for name in LIBS if name in libs]
    has_graph = all(name in libs for name in GRAPH_LIBS)
    exes = {}
    for model in MODELS:
        sources = [C_DIR / "rpc_device_main.c"]
        sources += sorted((extract_mlf(model, root) / "codegen/host/src").glob("*.c"))
        exes[model] = root / f"device_{model}"
        compile_c(
            exes[model],
            sources,
            includes=[cfg],
            defines=["DEVICE_WITH_GRAPH_EXECUTOR"] if has_graph else [],
            link=link_group(libs, *names),
            allowed_warnings=KNOWN_GENERATED_WARNINGS,
            cflags=["-O2", "-Wno-unused-parameter", "-Wno-unused-variable"],
        )
    return Devices(exes, has_graph)


def graph_files(model: str) -> tuple[str, bytes | None]:
    with tarfile.open(MLF_DIR / f"{model}.tar") as tar:
        names = tar.getnames()
        graph = tar.extractfile("./executor-config/graph/default.graph")
        assert graph is not None
        params = None
        if "./parameters/default.params" in names:
            member = tar.extractfile("./parameters/default.params")
            assert member is not None
            params = member.read()
        return graph.read().decode(), params


def close_enough(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_aot_model_runs_and_benchmarks(devices: Devices) -> None:
    x, expected = mlf_input_output("mnist_aot_packed_syslib")
    with Session(PipeTransport(devices["mnist_aot_packed_syslib"])) as session:
        executor = session.create_aot_executor()
        executor.set_input("Input3", x)
        executor.run()
        close_enough(executor.get_output(0), expected)
        np.testing.assert_array_equal(executor.get_input(0), x)
        result = executor.benchmark(number=3, repeat=2)
        assert len(result.results) == 2 and all(t > 0 for t in result.results)


@pytest.mark.parametrize("model", ["mnist_graph", "mnist_graph_params"])
def test_graph_model_runs_with_the_host_graph_executor(model: str, devices: Devices) -> None:
    x, expected = mlf_input_output(model)
    graph_json, params = graph_files(model)
    transport = PipeTransport(devices[model])
    with (
        Session(transport) as session,
        session.create_host_graph_executor(graph_json, params) as ex,
    ):
        ex.set_input("Input3", x)
        ex.run()
        close_enough(ex.get_output(0), expected)
        profile = ex.profile(number=5)
    assert len(profile.operators) == 8 and all(op.seconds > 0 for op in profile.operators)


@pytest.mark.parametrize("model", ["mnist_graph", "mnist_graph_params"])
def test_graph_model_runs_on_the_device_and_profiles_add_up(model: str, devices: Devices) -> None:
    if not devices.has_graph:
        pytest.skip("the runtime has no graph executor yet")
    x, expected = mlf_input_output(model)
    graph_json, params = graph_files(model)
    with Session(PipeTransport(devices[model])) as session:
        with session.create_host_graph_executor(graph_json, params) as executor:
            profile = executor.profile(number=5)
        with session.create_graph_executor(graph_json, params) as executor:
            assert executor.input_names == ("Input3",)
            executor.set_input(0, x)
            executor.run()
            close_enough(executor.get_output(0), expected)
            whole = executor.benchmark(number=5, repeat=3).median
    assert profile.total == pytest.approx(whole, rel=0.1)


@pytest.mark.parametrize("seed", range(4))
def test_noisy_link_gives_right_outputs_or_a_clear_error(seed: int, devices: Devices) -> None:
    x, expected = mlf_input_output("mnist_aot_packed_syslib")
    transport = NoisyTransport(devices["mnist_aot_packed_syslib"], seed)
    try:
        with Session(transport, reply_timeout_sec=1) as session:
            executor = session.create_aot_executor()
            for _ in range(3):
                executor.set_input("Input3", x)
                executor.run()
                close_enough(executor.get_output(0), expected)
    except SessionError as error:
        assert str(error)
