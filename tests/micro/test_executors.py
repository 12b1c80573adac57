"""Executors against a Python device: AOT, device-side graph, host-side graph with profiling."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
import pytest

from projectapi.micro import GraphError, ProfilingUnavailable, Session, SessionError
from projectapi.micro.graph import Graph
from projectapi.micro.rpc_codec import CPU, FLOAT32, DataType, DLTensor, ModuleHandle
from projectapi.mlf.params import read_params, write_params

from .fake_crt import DeviceFailure, FakeCRT, FakeLink

SHAPE = (4,)
X = np.array([1.0, 2.0, 3.0, 4.0], dtype="float32")
W = np.array([0.5, -1.0, 10.0, 0.0], dtype="float32")


def tensor(device: FakeCRT, shape: tuple[int, ...] = SHAPE) -> DLTensor:
    return DLTensor(device.alloc(4 * math.prod(shape)), CPU, FLOAT32, shape)


def install_aot(device: FakeCRT) -> dict[str, DLTensor]:
    """An AOT executor computing out = a + b."""
    arrays = {"a": tensor(device), "b": tensor(device), "out": tensor(device)}
    names = ["a", "b"]

    def get_input(key: Any) -> Any:
        return device.new_ndarray(arrays[names[key] if isinstance(key, int) else key])

    def run() -> None:
        device.write(
            arrays["out"], (device.array(arrays["a"]) + device.array(arrays["b"])).tobytes()
        )

    def set_input(*_: Any) -> None:
        raise DeviceFailure("not implemented")

    functions = {
        "get_input": get_input,
        "run": run,
        "get_output": lambda i: device.new_ndarray(arrays["out"]),
        "get_num_inputs": lambda: 2,
        "get_num_outputs": lambda: 1,
        "get_input_name": lambda i: names[i],
        "get_input_index": lambda name: names.index(name),
        "set_input": set_input,
    }
    device.register(
        "tvm.aot_executor.create", lambda mod, dev, name: ModuleHandle(device.add_module(functions))
    )
    return arrays


def open_session(device: FakeCRT) -> Session:
    return Session(FakeLink(device)).open()


def test_aot_executor_runs_and_benchmarks() -> None:
    device = FakeCRT()
    install_aot(device)
    device.durations["run"] = 0.0025
    session = open_session(device)
    with session.create_aot_executor() as executor:
        assert executor.input_names == ("a", "b")
        assert (executor.num_inputs, executor.num_outputs) == (2, 1)
        executor.set_input("a", X)
        executor.set_input(1, W)
        np.testing.assert_array_equal(executor.get_input("b"), W)
        executor.run()
        np.testing.assert_array_equal(executor.get_output(0), X + W)
        result = executor.benchmark(number=2, repeat=3)
        assert result.results == (0.0025,) * 3
        assert result.median == pytest.approx(0.0025) and result.std == 0
        with pytest.raises(SessionError, match="no input 'c'"):
            executor.set_input("c", X)
        with pytest.raises(SessionError, match="input index 2 out of range"):
            executor.set_input(2, X)
        with pytest.raises(SessionError, match="output index 1 out of range"):
            executor.get_output(1)
        module = executor.module.handle
    assert (module, 9) in device.freed


def test_aot_executor_missing_on_device_is_explained() -> None:
    session = open_session(FakeCRT())
    with pytest.raises(SessionError, match="no AOT executor"):
        session.create_aot_executor()


GRAPH = {
    "nodes": [
        {"op": "null", "name": "x", "inputs": []},
        {"op": "null", "name": "w", "inputs": []},
        {
            "op": "tvm_op",
            "name": "add_node",
            "attrs": {
                "func_name": "add",
                "num_inputs": "2",
                "num_outputs": "1",
                "flatten_data": "0",
            },
            "inputs": [[0, 0, 0], [1, 0, 0]],
        },
        {
            "op": "tvm_op",
            "name": "double_node",
            "attrs": {
                "func_name": "double",
                "num_inputs": "1",
                "num_outputs": "1",
                "flatten_data": "0",
            },
            "inputs": [[2, 0, 0]],
        },
    ],
    "arg_nodes": [0, 1],
    "heads": [[3, 0, 0]],
    "attrs": {
        "dltype": ["list_str", ["float32"] * 4],
        "storage_id": ["list_int", [0, 1, 2, 3]],
        "shape": ["list_shape", [list(SHAPE)] * 4],
    },
    "node_row_ptr": [0, 1, 2, 3, 4],
}
GRAPH_JSON = json.dumps(GRAPH)


def install_operators(device: FakeCRT) -> None:
    library = device.modules[device.syslib]
    library["add"] = lambda a, b, out: device.write(
        out, (device.array(a) + device.array(b)).tobytes()
    )
    library["double"] = lambda a, out: device.write(out, (2 * device.array(a)).tobytes())
    device.durations.update({"add": 0.003, "double": 0.001})


def test_host_graph_executor_runs_and_profiles() -> None:
    device = FakeCRT()
    install_operators(device)
    session = open_session(device)
    with session.create_host_graph_executor(GRAPH_JSON, {"w": W}) as executor:
        assert executor.input_names == ("x",)
        executor.set_input("x", X)
        executor.run()
        np.testing.assert_array_equal(executor.get_output(0), 2 * (X + W))
        np.testing.assert_array_equal(executor.get_input(0), X)
        profile = executor.profile(repeat=3)
        assert [(op.name, op.seconds) for op in profile.operators] == [
            ("add_node", 0.003),
            ("double_node", 0.001),
        ]
        assert profile.total == pytest.approx(0.004)
        assert profile.whole_run == pytest.approx(0.004)  # a walk is its operator calls
        assert (profile.executor, profile.repeat) == ("graph walked on the host", 3)
        np.testing.assert_array_equal(executor.get_output(0), 2 * (X + W))  # outputs intact
    assert not device.memory  # every storage block was freed


def test_host_graph_executor_loads_a_params_blob() -> None:
    device = FakeCRT()
    install_operators(device)
    session = open_session(device)
    with session.create_host_graph_executor(GRAPH_JSON) as executor:
        executor.load_params(write_params({"w": W}))
        executor.set_input(0, X)
        executor.run()
        np.testing.assert_array_equal(executor.get_output(0), 2 * (X + W))


def test_host_graph_executor_names_a_missing_operator_and_cleans_up() -> None:
    device = FakeCRT()
    device.modules[device.syslib]["add"] = lambda *args: None
    session = open_session(device)
    with pytest.raises(SessionError, match="operator 'double' of node 'double_node'"):
        session.create_host_graph_executor(GRAPH_JSON)
    assert not device.memory
    assert (device.syslib, 9) in device.freed


def test_host_graph_executor_refuses_bad_inputs() -> None:
    device = FakeCRT()
    install_operators(device)
    session = open_session(device)
    with session.create_host_graph_executor(GRAPH_JSON) as executor:
        with pytest.raises(SessionError, match=r"input 'x' has shape \(5,\)"):
            executor.set_input("x", np.zeros(5, dtype="float32"))
        with pytest.raises(GraphError, match="no input or parameter 'y'; its inputs are x, w"):
            executor.load_params({"y": W})
        with pytest.raises(SessionError, match="output index 1 out of range"):
            executor.get_output(1)


def install_graph_executor(device: FakeCRT, *, with_run_profile: bool = True) -> None:
    """A device-side graph executor built on the Graph parser and the fake operators."""

    def create(graph_json: str, module: ModuleHandle, device_type: int, device_id: int) -> Any:
        graph = Graph.parse(graph_json)
        storage = [tensor(device, (n // 4,)) for n in graph.storage_sizes()]

        def entry(entry_id: int) -> DLTensor:
            e = graph.entries[entry_id]
            return DLTensor(storage[e.storage_id].data, CPU, DataType(*e.dl_dtype), e.shape)

        def load_params(blob: bytes) -> None:
            for name, value in read_params(blob).items():
                device.write(entry(graph.arg_entry(name)), value.tobytes())

        def run() -> None:
            library = device.modules[module.value]
            for op in graph.operators:
                library[op.func_name](*(entry(e) for e in op.inputs + op.outputs))

        def run_profile() -> bytes:
            run()
            seconds = [0.0] * graph.num_nodes + [device.durations["run"]]
            for op in graph.operators:
                seconds[op.node] = device.durations[op.func_name]
            return struct.pack(f"<{len(seconds)}d", *seconds)

        functions = {
            "get_input": lambda name: device.new_ndarray(entry(graph.arg_entry(name))),
            "get_output": lambda i: device.new_ndarray(entry(graph.output_entries[i])),
            "load_params": load_params,
            "run": run,
        }
        if with_run_profile:
            functions["run_profile"] = run_profile
        return ModuleHandle(device.add_module(functions))

    device.register("tvm.graph_executor.create", create)


def test_device_graph_executor_runs() -> None:
    device = FakeCRT()
    install_operators(device)
    install_graph_executor(device)
    session = open_session(device)
    with session.create_graph_executor(GRAPH_JSON, write_params({"w": W})) as executor:
        assert (executor.input_names, executor.num_outputs) == (("x",), 1)
        executor.set_input(0, X)
        executor.run()
        np.testing.assert_array_equal(executor.get_output(0), 2 * (X + W))
        with pytest.raises(SessionError, match="first input"):
            executor.load_params({"x": X})


def test_device_graph_executor_profiles_with_run_profile() -> None:
    device = FakeCRT()
    install_operators(device)
    install_graph_executor(device)
    device.durations["run"] = 0.0041
    session = open_session(device)
    with session.create_graph_executor(GRAPH_JSON, {"w": W}) as executor:
        profile = executor.profile(repeat=4)
    assert [(op.name, op.func_name, op.seconds) for op in profile.operators] == [
        ("add_node", "add", 0.003),
        ("double_node", "double", 0.001),
    ]
    assert (profile.whole_run, profile.repeat) == (0.0041, 4)
    assert profile.executor == "graph executor on the device"


def test_device_graph_executor_without_run_profile_points_to_the_host_walk() -> None:
    device = FakeCRT()
    install_operators(device)
    install_graph_executor(device, with_run_profile=False)
    session = open_session(device)
    with (
        session.create_graph_executor(GRAPH_JSON) as executor,
        pytest.raises(ProfilingUnavailable, match=r"no 'run_profile'.*graph walked on the host"),
    ):
        executor.profile()


def test_profile_needs_at_least_one_repeat() -> None:
    device = FakeCRT()
    install_operators(device)
    session = open_session(device)
    with (
        session.create_host_graph_executor(GRAPH_JSON) as executor,
        pytest.raises(SessionError, match="repeat must be at least 1, got 0"),
    ):
        executor.profile(repeat=0)


def test_aot_executor_explains_why_it_cannot_profile_operators() -> None:
    device = FakeCRT()
    install_aot(device)
    session = open_session(device)
    with (
        session.create_aot_executor() as executor,
        pytest.raises(ProfilingUnavailable, match="not available for AOT models"),
    ):
        executor.profile()


def test_device_graph_executor_refuses_json_larger_than_the_device_buffer() -> None:
    device = FakeCRT(max_packet_size=300)
    install_graph_executor(device)
    session = open_session(device)
    with pytest.raises(SessionError, match=r"graph JSON needs a \d+-byte request .* at most 300"):
        session.create_graph_executor(GRAPH_JSON)


def test_device_graph_executor_missing_points_to_host_executor() -> None:
    session = open_session(FakeCRT())
    with pytest.raises(SessionError, match="create_host_graph_executor"):
        session.create_graph_executor(GRAPH_JSON)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: g.update(node_row_ptr=[0, 1]), "node_row_ptr has 2 items"),
        (lambda g: g["attrs"]["dltype"][1].__setitem__(0, "complex64"), "unsupported dtype"),
        (lambda g: g["nodes"][2].update(op="other"), "unsupported op 'other'"),
        (lambda g: g["heads"][0].__setitem__(0, 9), "missing node output"),
        (lambda g: g.pop("heads"), "malformed"),
    ],
)
def test_graph_errors_name_the_problem(change: Any, message: str) -> None:
    graph = json.loads(GRAPH_JSON)
    change(graph)
    with pytest.raises(GraphError, match=message):
        Graph.parse(json.dumps(graph))


def test_graph_json_must_be_json() -> None:
    with pytest.raises(GraphError, match="not valid JSON"):
        Graph.parse("{nodes")
