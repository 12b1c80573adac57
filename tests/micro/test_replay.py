"""Our host performs TVM's calls against recorded device answers and must send TVM's requests."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from projectapi.micro import Session

from .transcripts import TranscriptDevice, load_frames, mlf_input_output, mlf_member


def _session(name: str) -> tuple[Session, TranscriptDevice]:
    device = TranscriptDevice(load_frames(name))
    return Session(device), device


def test_aot_executor_replays_transcript_a(caplog: pytest.LogCaptureFixture) -> None:
    x, expected = mlf_input_output("mnist_aot_packed_syslib")
    session, device = _session("a_aot_packed_syslib_mnist")
    with caplog.at_level(logging.INFO, logger="projectapi.device"), session:
        executor = session.create_aot_executor()
        executor.set_input("Input3", x)
        executor.run()
        output = executor.get_output(0)
    assert device.finished
    np.testing.assert_array_equal(output, expected)
    device_lines = [r.getMessage() for r in caplog.records if r.name == "projectapi.device"]
    assert device_lines[0] == "DumpMetadata:"
    assert len(device_lines) == 18


def test_time_evaluator_replays_transcript_c() -> None:
    session, device = _session("c_time_evaluator_aot_run")
    with session:
        executor = session.create_aot_executor()
        result = executor.benchmark(number=3, repeat=2)
    assert device.finished
    assert result.results == pytest.approx([0.004028, 0.004088], rel=1e-3)
    assert result.min <= result.mean <= result.max


def test_host_graph_executor_replays_transcript_b() -> None:
    x, expected = mlf_input_output("mnist_graph")
    graph_json = mlf_member("mnist_graph.tar", "executor-config/graph/default.graph").decode()
    session, device = _session("b_graph_host_driven_mnist")
    with session:
        executor = session.create_host_graph_executor(graph_json)
        executor.set_input("Input3", x)
        executor.run()
        output = executor.get_output(0)
        executor.release()
    assert device.finished
    np.testing.assert_array_equal(output, expected)


def test_host_graph_executor_load_params_replays_transcript_b2() -> None:
    # This recording was made with mnist_graph's input array (same weights, same model).
    x, expected = mlf_input_output("mnist_graph")
    graph_json = mlf_member("mnist_graph_params.tar", "graph/default.graph").decode()
    params = mlf_member("mnist_graph_params.tar", "parameters/default.params")
    session, device = _session("b2_graph_host_driven_load_params_mnist")
    with session, session.create_host_graph_executor(graph_json) as executor:
        executor.load_params(params)
        assert executor.input_names == ("Input3",)
        executor.set_input(0, x)
        executor.run()
        output = executor.get_output(0)
    assert device.finished
    np.testing.assert_array_equal(output, expected)
