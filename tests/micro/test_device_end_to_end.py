"""The Python host against our C runtime over real pipes: AOT, both graph executors, profiling,
large packets and a link that corrupts bytes."""

from __future__ import annotations

import pathlib
import random

import numpy as np
import pytest

from projectapi.micro import Graph, Profile, ProfilingUnavailable, Session, SessionError
from projectapi.micro.profiling import DEFAULT_REPEAT

from .pipe_device import Devices, PipeTransport, build_devices, graph_files
from .transcripts import mlf_input_output

pytestmark = [
    pytest.mark.slow,
]

MODELS = ("mnist_aot_packed_syslib", "mnist_graph", "mnist_graph_params")


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


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Devices:
    """Builds the runtime and one device program per model."""
    return build_devices(tmp_path_factory.mktemp("e2e"), MODELS)


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


GRAPH_MODELS = ("mnist_graph", "mnist_graph_params")


@pytest.mark.parametrize("model", GRAPH_MODELS)
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


@pytest.mark.parametrize("model", GRAPH_MODELS)
def test_graph_model_runs_on_the_device(model: str, devices: Devices) -> None:
    if not devices.has_graph:
        pytest.skip("the runtime has no graph executor yet")
    x, expected = mlf_input_output(model)
    graph_json, params = graph_files(model)
    with (
        Session(PipeTransport(devices[model])) as session,
        session.create_graph_executor(graph_json, params) as executor,
    ):
        assert executor.input_names == ("Input3",)
        executor.set_input(0, x)
        executor.run()
        close_enough(executor.get_output(0), expected)


def check_profile(profile: Profile, graph_json: str) -> None:
    """One row per operator in graph order, each timed, adding up to the whole run within 10%."""
    graph = Graph.parse(graph_json)
    assert [op.name for op in profile.operators] == [op.name for op in graph.operators]
    assert all(op.seconds > 0 for op in profile.operators)
    assert profile.total == pytest.approx(profile.whole_run, rel=0.1)


@pytest.mark.parametrize("model", GRAPH_MODELS)
def test_profiles_of_both_graph_executors_add_up_to_the_whole_run(
    model: str, devices: Devices
) -> None:
    if not devices.has_graph:
        pytest.skip("the runtime has no graph executor yet")
    x, _ = mlf_input_output(model)
    graph_json, params = graph_files(model)
    with (
        Session(PipeTransport(devices[model])) as session,
        session.create_graph_executor(graph_json, params) as on_device,
        session.create_host_graph_executor(graph_json, params) as walked,
    ):
        on_device.set_input(0, x)
        walked.set_input(0, x)
        check_profile(on_device.profile(), graph_json)
        check_profile(walked.profile(), graph_json)
        # The host walk has no single device call for a whole run: compare its operator times
        # with the device executor's whole runs, one of each per round so both see the same load.
        rounds = []
        for _ in range(DEFAULT_REPEAT):
            walk = walked.profile(repeat=1)
            whole = on_device.profile(repeat=1).whole_run
            rounds.append(([op.seconds for op in walk.operators], whole))
    graph = Graph.parse(graph_json)
    check_profile(Profile.from_rounds("both", graph.operators, rounds), graph_json)


def test_aot_model_cannot_be_profiled_per_operator(devices: Devices) -> None:
    with (
        Session(PipeTransport(devices["mnist_aot_packed_syslib"])) as session,
        session.create_aot_executor() as executor,
        pytest.raises(ProfilingUnavailable, match="workspace and constant pools"),
    ):
        executor.profile()


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
