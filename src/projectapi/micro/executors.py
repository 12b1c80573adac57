"""Model executors over a device session: AOT, device-side graph, host-side graph.

Request sequences follow TVM v0.14's host (docs/micro.md), so the same device answers
either host. Every executor is a context manager; ``release()`` frees its device objects.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from ..mlf.params import read_params, write_params
from .errors import ProfilingUnavailable, SessionError
from .graph import Graph
from .profiling import (
    AOT_UNAVAILABLE,
    DEFAULT_REPEAT,
    Profile,
    profile_device_graph,
    profile_host_walk,
)
from .rpc import (
    RemoteArray,
    RemoteFunction,
    RemoteModule,
    RPCClient,
    check_array,
    dtype_to_numpy,
)
from .rpc_codec import CPU, FLOAT32, CallFunc, DataType, DLTensor, ModuleHandle, encode_packet

Params = bytes | Mapping[str, np.ndarray]
"""Parameters: a ``.params`` blob or a name -> array mapping."""

_Executor = TypeVar("_Executor", "GraphExecutor", "HostGraphExecutor")


@dataclass(frozen=True)
class BenchmarkResult:
    """On-device seconds per run, one mean per repeat (timed by the device's own timer)."""

    results: tuple[float, ...]

    @property
    def mean(self) -> float:
        """Mean over repeats."""
        return statistics.fmean(self.results)

    @property
    def median(self) -> float:
        """Median over repeats."""
        return statistics.median(self.results)

    @property
    def min(self) -> float:
        """Fastest repeat."""
        return min(self.results)

    @property
    def max(self) -> float:
        """Slowest repeat."""
        return max(self.results)

    @property
    def std(self) -> float:
        """Population standard deviation over repeats."""
        return statistics.pstdev(self.results)


def _params_blob(params: Params) -> bytes:
    return bytes(params) if isinstance(params, bytes | bytearray) else write_params(params)


def _params_dict(params: Params) -> Mapping[str, np.ndarray]:
    return read_params(bytes(params)) if isinstance(params, bytes | bytearray) else params


def _create_device_module(
    client: RPCClient,
    create_name: str,
    what: str,
    make_args: Callable[[RemoteModule], tuple[Any, ...]],
) -> RemoteModule:
    """Call a device-side executor factory on the system library, as TVM's host does."""
    create = client.find_global_func(create_name)
    if create is None:
        raise SessionError(f"the device firmware has no {what} (global '{create_name}' missing)")
    try:
        syslib = client.system_lib()
    except BaseException:
        create.release()
        raise
    try:
        module = create(*make_args(syslib))
    finally:
        create.release()
        syslib.release()
    if not isinstance(module, RemoteModule):
        raise SessionError(f"'{create_name}' returned {module!r}, not a module")
    return module


def _fits(client: RPCClient, args: tuple[Any, ...]) -> tuple[int, int]:
    """The request size of a call with ``args`` and the most the device accepts in one message."""
    return len(encode_packet(CallFunc(0, args))) - 8, client.max_packet_size()


def _check_fits(client: RPCClient, args: tuple[Any, ...], what: str) -> None:
    """Refuse a call the device cannot hold in one message (it would wedge the device)."""
    nbytes, limit = _fits(client, args)
    if nbytes > limit:
        raise SessionError(
            f"{what} needs a {nbytes}-byte request but the device accepts at most {limit} bytes; "
            "raise TVM_CRT_MAX_PACKET_SIZE_BYTES in the firmware or use the host graph executor"
        )


class _GraphModel:
    """Inputs and outputs of a graph model, known on the host from its graph JSON."""

    graph: Graph
    _loaded: set[str]

    @property
    def input_names(self) -> tuple[str, ...]:
        """Graph inputs in order, without the parameters loaded with ``load_params``."""
        return tuple(n for n in self.graph.arg_names if n not in self._loaded)

    @property
    def num_inputs(self) -> int:
        """Number of inputs (``input_names``)."""
        return len(self.input_names)

    @property
    def num_outputs(self) -> int:
        """Number of graph outputs."""
        return len(self.graph.output_entries)

    def _input_name(self, key: str | int) -> str:
        """The graph input named or indexed by ``key``; raises GraphError/SessionError if none."""
        if isinstance(key, int):
            names = self.input_names
            if not 0 <= key < len(names):
                raise SessionError(f"input index {key} out of range 0..{len(names) - 1}")
            return names[key]
        self.graph.arg_entry(key)
        return key

    def _check_params(self, names: list[str]) -> None:
        for name in names:
            self.graph.arg_entry(name)


def _check_output_index(index: int, count: int | None) -> None:
    """Refuse an output index the model does not have (``count`` None: not known)."""
    if index < 0 or (count is not None and index >= count):
        limit = "" if count is None else f" 0..{count - 1}"
        raise SessionError(f"output index {index} out of range{limit}")


def _load_or_release(executor: _Executor, params: Params | None) -> _Executor:
    """Load ``params`` into a new executor; release the executor if that fails."""
    if params is not None:
        try:
            executor.load_params(params)
        except BaseException:
            executor.release()
            raise
    return executor


class _DeviceExecutor:
    """An executor module on the device: looks up its functions once, as TVM's host does."""

    FUNCTION_NAMES: tuple[str, ...] = ()

    def __init__(self, client: RPCClient, module: RemoteModule) -> None:
        self._client = client
        self.module = module
        self._functions: dict[str, RemoteFunction | None] = {}
        try:
            for name in self.FUNCTION_NAMES:
                self._functions[name] = module.find_function(name)
        except BaseException:
            self.release()
            raise

    def _function(self, name: str) -> RemoteFunction:
        func = self._functions.get(name)
        if func is None:
            raise SessionError(f"the device executor has no '{name}' function")
        return func

    def _input_key(self, key: str | int) -> str | int:
        return key

    def _array(self, getter: str, key: str | int) -> RemoteArray:
        array = self._function(getter)(key)
        if not isinstance(array, RemoteArray):
            raise SessionError(f"'{getter}({key!r})' returned {array!r}, not an array")
        return array

    def set_input(self, key: str | int, value: np.ndarray) -> None:
        """Copy ``value`` into input ``key`` (name or index) on the device."""
        with self._array("get_input", self._input_key(key)) as array:
            array.copyfrom(value)

    def get_input(self, key: str | int) -> np.ndarray:
        """The current value of input ``key`` (name or index)."""
        with self._array("get_input", self._input_key(key)) as array:
            return array.numpy()

    def run(self) -> None:
        """Run the model once on the device."""
        self._function("run")()

    def get_output(self, index: int) -> np.ndarray:
        """Output ``index`` of the last run."""
        _check_output_index(index, self._known_num_outputs())
        with self._array("get_output", index) as array:
            return array.numpy()

    def _known_num_outputs(self) -> int | None:
        """The output count if known without asking the device."""
        raise NotImplementedError

    def benchmark(
        self, number: int = 10, repeat: int = 3, min_repeat_ms: int = 0
    ) -> BenchmarkResult:
        """Time ``run`` with the device timer (runtime.RPCTimeEvaluator)."""
        with self.module.time_evaluator(
            "run", number=number, repeat=repeat, min_repeat_ms=min_repeat_ms
        ) as timer:
            return BenchmarkResult(timer())

    def release(self) -> None:
        """Free the function handles and the executor module on the device."""
        for func in self._functions.values():
            if func is not None:
                func.release()
        self.module.release()

    def __enter__(self) -> _DeviceExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class AotExecutor(_DeviceExecutor):
    """The device's AOT executor (tvm.aot_executor.create)."""

    FUNCTION_NAMES = (
        "set_input",
        "run",
        "get_output",
        "get_input",
        "get_num_outputs",
        "get_input_index",
        "get_num_inputs",
        "get_input_name",
    )

    def __init__(self, client: RPCClient, module: RemoteModule) -> None:
        super().__init__(client, module)
        self._num_outputs: int | None = None
        self._input_names: tuple[str, ...] | None = None

    @classmethod
    def create(cls, client: RPCClient, model_name: str = "default") -> AotExecutor:
        """Create the executor for ``model_name`` (the MLF model name, without ``tvmgen_``)."""
        module = _create_device_module(
            client,
            "tvm.aot_executor.create",
            "AOT executor",
            lambda syslib: (syslib, CPU, model_name),
        )
        return cls(client, module)

    def _count(self, name: str) -> int:
        value = self._function(name)()
        if not isinstance(value, int):
            raise SessionError(f"'{name}' returned {value!r}, not an integer")
        return value

    @property
    def num_inputs(self) -> int:
        """Number of model inputs."""
        return len(self.input_names)

    @property
    def num_outputs(self) -> int:
        """Number of model outputs."""
        if self._num_outputs is None:
            self._num_outputs = self._count("get_num_outputs")
        return self._num_outputs

    def _known_num_outputs(self) -> int | None:
        return self._num_outputs

    def profile(self, repeat: int = DEFAULT_REPEAT) -> Profile:
        """Always raises ProfilingUnavailable: AOT operators cannot be called on their own."""
        raise ProfilingUnavailable(AOT_UNAVAILABLE)

    @property
    def input_names(self) -> tuple[str, ...]:
        """Model input names in order."""
        if self._input_names is None:
            count = self._count("get_num_inputs")
            names = [self._function("get_input_name")(i) for i in range(count)]
            self._input_names = tuple(str(n) for n in names)
        return self._input_names

    def _input_key(self, key: str | int) -> str | int:
        # The device aborts on an unknown input name or index; check on the host first.
        if isinstance(key, int):
            if not 0 <= key < self.num_inputs:
                raise SessionError(f"input index {key} out of range 0..{self.num_inputs - 1}")
        elif self._input_names is not None and key not in self._input_names:
            raise SessionError(
                f"the model has no input '{key}'; its inputs are {', '.join(self._input_names)}"
            )
        return key


class GraphExecutor(_GraphModel, _DeviceExecutor):
    """A graph executor running on the device (tvm.graph_executor.create)."""

    FUNCTION_NAMES = (
        "set_input",
        "set_input_zero_copy",
        "set_output_zero_copy",
        "run",
        "get_output",
        "get_input",
        "get_num_outputs",
        "get_input_index",
        "get_input_info",
        "get_num_inputs",
        "load_params",
        "share_params",
    )

    def __init__(self, client: RPCClient, module: RemoteModule, graph: Graph) -> None:
        super().__init__(client, module)
        self.graph = graph
        self._loaded = set()

    @classmethod
    def create(
        cls, client: RPCClient, graph_json: str, params: Params | None = None
    ) -> GraphExecutor:
        """Create the executor from graph JSON, then load ``params`` if given."""
        graph = Graph.parse(graph_json)
        _check_fits(client, (graph_json, ModuleHandle(0), 1, 0), "the graph JSON")
        module = _create_device_module(
            client,
            "tvm.graph_executor.create",
            "graph executor (use create_host_graph_executor instead)",
            lambda syslib: (graph_json, syslib, CPU.device_type, CPU.device_id),
        )
        return _load_or_release(cls(client, module, graph), params)

    def _known_num_outputs(self) -> int | None:
        return self.num_outputs

    def _input_key(self, key: str | int) -> str | int:
        # The device takes only names and aborts on unknown ones: resolve on the host.
        return self._input_name(key)

    def load_params(self, params: Params) -> None:
        """Load parameters (a ``.params`` blob or name -> array) into the device executor.

        A blob that fits one message goes in one ``load_params`` call; a larger one is copied
        parameter by parameter into the executor's inputs, in chunks the device can take.
        """
        blob = _params_blob(params)
        values = _params_dict(params)
        names = list(values)
        self._check_params(names)
        if self.graph.arg_names and self.graph.arg_names[0] in names:
            raise SessionError(
                f"parameter '{self.graph.arg_names[0]}' is the graph's first input; the device "
                "graph executor cannot load it (use create_host_graph_executor)"
            )
        nbytes, limit = _fits(self._client, (blob,))
        if nbytes <= limit:
            self._function("load_params")(blob)
        else:
            for name, value in values.items():
                self.set_input(name, value)
        self._loaded.update(names)

    def profile(self, repeat: int = DEFAULT_REPEAT) -> Profile:
        """On-device time per operator (``run_profile``) and of whole runs, fastest of ``repeat``.

        Raises ProfilingUnavailable if the device's executor has no ``run_profile``.
        """
        return profile_device_graph(self.module, self.graph, repeat)


class HostGraphExecutor(_GraphModel):
    """Walks the graph on the host and calls each operator on the device (TVM's micro flow)."""

    LINKED_PARAM_LOOKUP = "_lookup_linked_param"

    def __init__(self, client: RPCClient, graph: Graph) -> None:
        """Use ``create``; this sets up the device memory and operator handles."""
        self._client = client
        self.graph = graph
        self._storage: list[int] = []
        self._ops: list[RemoteFunction] = []
        self._loaded: set[str] = set()
        self.module = client.system_lib()
        try:
            self._setup()
        except BaseException:
            self.release()
            raise

    @classmethod
    def create(
        cls, client: RPCClient, graph_json: str, params: Params | None = None
    ) -> HostGraphExecutor:
        """Set up the graph on the device, then load ``params`` if given."""
        return _load_or_release(cls(client, Graph.parse(graph_json)), params)

    def _setup(self) -> None:
        # TVM's host asks once per node entry; so do we, keeping its request sequence.
        for _entry in self.graph.entries:
            linked = self.module.find_function(self.LINKED_PARAM_LOOKUP)
            if linked is not None:
                linked.release()
                raise SessionError(
                    f"the system library provides {self.LINKED_PARAM_LOOKUP}, which the host "
                    "graph executor does not support; use create_graph_executor"
                )
        for nbytes in self.graph.storage_sizes():
            self._storage.append(self._client.alloc_data(nbytes, FLOAT32))
        for op in self.graph.operators:
            func = self.module.find_function(op.func_name)
            if func is None:
                raise SessionError(
                    f"operator '{op.func_name}' of node '{op.name}' is not in the device's "
                    "system library; was the firmware built from this model?"
                )
            self._ops.append(func)

    def _tensor(self, entry_id: int) -> DLTensor:
        entry = self.graph.entries[entry_id]
        return DLTensor(
            self._storage[entry.storage_id], CPU, DataType(*entry.dl_dtype), entry.shape
        )

    def _input_entry(self, key: str | int) -> int:
        return self.graph.arg_entry(self._input_name(key))

    def _write(self, entry_id: int, value: np.ndarray, what: str) -> None:
        tensor = self._tensor(entry_id)
        data = check_array(value, tensor.shape, _numpy_dtype(tensor), what)
        self._client.copy_to(tensor, data, sync=False)

    def _read(self, entry_id: int) -> np.ndarray:
        tensor = self._tensor(entry_id)
        raw = self._client.copy_from(tensor, tensor.nbytes, sync=True)
        return np.frombuffer(raw, dtype=_numpy_dtype(tensor)).reshape(tensor.shape).copy()

    def set_input(self, key: str | int, value: np.ndarray) -> None:
        """Copy ``value`` into graph input ``key`` (name or index)."""
        self._write(self._input_entry(key), value, f"input '{key}'")

    def get_input(self, key: str | int) -> np.ndarray:
        """The current value of graph input ``key``."""
        return self._read(self._input_entry(key))

    def load_params(self, params: Params) -> None:
        """Copy parameters (a ``.params`` blob or name -> array) into their storage, in order."""
        values = _params_dict(params)
        self._check_params(list(values))
        for name, value in values.items():
            self._write(self.graph.arg_entry(name), value, f"parameter '{name}'")
        self._loaded.update(values)

    def _args(self, index: int) -> list[DLTensor]:
        op = self.graph.operators[index]
        return [self._tensor(e) for e in op.inputs + op.outputs]

    def run(self) -> None:
        """Call every operator on the device, in graph order."""
        for index, func in enumerate(self._ops):
            func(*self._args(index))

    def get_output(self, index: int) -> np.ndarray:
        """Output ``index`` of the last run."""
        _check_output_index(index, self.num_outputs)
        return self._read(self.graph.output_entries[index])

    def benchmark(
        self, number: int = 10, repeat: int = 3, min_repeat_ms: int = 0
    ) -> BenchmarkResult:
        """Device time of a walk: each operator timed by the device over ``number`` calls, summed.

        Only the operator calls run on the device, so a walk's on-device time is their sum (the
        model code alone, without the host's part of the walk).
        """
        results = []
        for _ in range(repeat):
            walk = 0.0
            for index, op in enumerate(self.graph.operators):
                with self.module.time_evaluator(
                    op.func_name, number=number, repeat=1, min_repeat_ms=min_repeat_ms
                ) as timer:
                    (seconds,) = timer(*self._args(index))
                walk += seconds
            results.append(walk)
        return BenchmarkResult(tuple(results))

    def profile(self, repeat: int = DEFAULT_REPEAT) -> Profile:
        """On-device time per operator call over ``repeat`` walks, fastest of each."""
        return profile_host_walk(self.module, self.graph, self._args, repeat)

    def release(self) -> None:
        """Free operator handles, storage and the system library handle on the device."""
        for func in self._ops:
            func.release()
        self._ops.clear()
        if not self._client.closed:
            for pointer in self._storage:
                self._client.free_data(pointer)
        self._storage.clear()
        self.module.release()

    def __enter__(self) -> HostGraphExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _numpy_dtype(tensor: DLTensor) -> np.dtype:
    return dtype_to_numpy(tensor.dtype)
