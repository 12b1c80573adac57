"""Open a Model Library Format archive (or an extracted copy) into typed, read-only facts.

Everything ``metadata.json`` records is read from it; what it does not record (interface API,
unpacked API, system library, shapes) is recovered from the generated sources as
``generated-code-abi.md`` describes. Names are always the metadata's (AOT's TVMMetadata calls a
single output ``output0`` where ``metadata.json`` says ``output``; the latter wins).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from microtvm_kit.safe_tar import UnsafeArchiveError, read_archive
from projectapi.mlf import csource, relay_text
from projectapi.mlf.dtypes import tensor_bytes
from projectapi.mlf.errors import MLFError
from projectapi.mlf.params import read_params

SUPPORTED_VERSIONS = (5, 6, 7)
METADATA = "metadata.json"
SOURCE_DIR = "codegen/host/src"
OBJECT_DIR = "codegen/host/lib"
INCLUDE_DIR = "codegen/host/include"
_SOURCE_EXTENSIONS = (".c", ".cc", ".cpp")
_DL_NAMES = {0: "int", 1: "uint", 2: "float"}

Shape = tuple[int, ...]


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output (or an operator buffer); unknown facts are None."""

    name: str
    dtype: str | None
    shape: Shape | None
    size_bytes: int | None


@dataclass(frozen=True)
class DeviceMemory:
    """Memory the main function needs on one device (``memory.functions.main[i]``)."""

    device: int
    workspace_size_bytes: int
    constants_size_bytes: int
    io_size_bytes: int


@dataclass(frozen=True)
class OperatorFunction:
    """A lowered operator: its C symbol, scratch need, and (operator style) its buffers."""

    name: str
    workspace_size_bytes: int
    buffers: tuple[TensorInfo, ...] = ()


@dataclass(frozen=True)
class Model:
    """One model of the archive and how to call it."""

    name: str
    executor: str | None  # "aot", "graph", or None for operator style
    interface_api: str | None  # AOT only: "c" or "packed"
    unpacked_api: bool | None  # AOT only; None if the sources do not tell
    system_lib: bool
    targets: tuple[str, ...]
    entry_points: tuple[str, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    memory: tuple[DeviceMemory, ...]
    operator_functions: tuple[OperatorFunction, ...]
    sources: tuple[str, ...]  # members under codegen/host/src and codegen/host/lib
    header: str | None  # member name of the C interface header
    graph_member: str | None
    graph: Mapping[str, Any] | None = field(repr=False)
    params_member: str | None
    params_data: bytes | None = field(repr=False)

    @property
    def workspace_size_bytes(self) -> int:
        """Workspace over all devices."""
        return sum(entry.workspace_size_bytes for entry in self.memory)

    @property
    def constants_size_bytes(self) -> int:
        """Constants over all devices."""
        return sum(entry.constants_size_bytes for entry in self.memory)

    def params(self) -> dict[str, np.ndarray]:
        """Parse the parameters file on request (empty if there is none)."""
        return {} if self.params_data is None else read_params(self.params_data)


@dataclass(frozen=True)
class ModelLibrary:
    """A Model Library Format archive: its version, style, models and raw members."""

    path: Path
    version: int
    style: str  # "full-model" or "operator"
    models: tuple[Model, ...]
    has_runtime: bool
    has_templates: bool
    metadata: Mapping[str, Any] = field(repr=False)
    files: Mapping[str, bytes] = field(repr=False)

    def model(self, name: str | None = None) -> Model:
        """The model called ``name``, or the only model when ``name`` is None."""
        if name is None and len(self.models) == 1:
            return self.models[0]
        for model in self.models:
            if model.name == name:
                return model
        names = ", ".join(model.name for model in self.models)
        raise MLFError(f"{self.path}: no model {name!r}; the archive has: {names}")

    def text(self, member: str) -> str:
        """A member decoded as text (invalid UTF-8 replaced)."""
        return self.files[member].decode("utf-8", errors="replace")


def open_library(path: str | os.PathLike[str]) -> ModelLibrary:
    """Read an MLF tar (plain or gzip) or extracted directory; raise MLFError if unusable."""
    location = Path(path)
    files = _read_files(location)
    metadata = _load_metadata(files)
    version = metadata.get("version")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise MLFError(
            f"{METADATA}: unsupported format version {version!r} "
            f"(supported: {', '.join(map(str, SUPPORTED_VERSIONS))})"
        )
    entries = _model_entries(metadata, version)
    style = _field(entries[0][1], "style", str, entries[0][2])
    sources = _assign_sources(files, [name for name, _, _ in entries], style)
    models = tuple(
        _build_model(files, version, name, entry, where, sources[name])
        for name, entry, where in entries
    )
    return ModelLibrary(
        path=location,
        version=version,
        style=style,
        models=models,
        has_runtime=any(name.startswith("runtime/") for name in files),
        has_templates=any(name.startswith("templates/") for name in files),
        metadata=metadata,
        files=files,
    )


def _read_files(location: Path) -> dict[str, bytes]:
    """Every regular file of the archive or directory, by normalised relative name."""
    if location.is_dir():
        files = {}
        for root, _dirs, names in os.walk(location):
            for name in names:
                path = Path(root) / name
                if path.is_symlink() or not path.is_file():
                    raise MLFError(f"{path}: not a regular file (links are not allowed)")
                files[path.relative_to(location).as_posix()] = path.read_bytes()
        return files
    if not location.exists():
        raise MLFError(f"{location}: no such archive or directory")
    try:
        return read_archive(location)
    except UnsafeArchiveError as error:
        raise MLFError(str(error)) from error


def _load_metadata(files: Mapping[str, bytes]) -> dict[str, Any]:
    """Parse metadata.json, naming the problem if it is missing or not a JSON object."""
    if METADATA not in files:
        raise MLFError(f"{METADATA}: missing (every Model Library Format archive has one)")
    try:
        metadata = json.loads(files[METADATA].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MLFError(f"{METADATA}: not valid JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise MLFError(f"{METADATA}: expected a JSON object, got {type(metadata).__name__}")
    return metadata


_REQUIRED = object()


def _field(
    obj: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    where: str,
    default: Any = _REQUIRED,
) -> Any:
    """``obj[key]`` checked against ``kind``; a missing or mistyped value names its key path."""
    if key not in obj:
        if default is _REQUIRED:
            raise MLFError(f"{METADATA}: {where}{key}: missing")
        return default
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise MLFError(f"{METADATA}: {where}{key}: expected {expected}, got {type(value).__name__}")
    return value


def _model_entries(metadata: dict[str, Any], version: int) -> list[tuple[str, dict, str]]:
    """(model name, metadata object describing it, key path prefix) per model."""
    if version == 7 and "modules" in metadata:
        modules = _field(metadata, "modules", dict, "")
        if not modules:
            raise MLFError(f"{METADATA}: modules: empty (no model in the archive)")
        entries = []
        for name, entry in modules.items():
            if not isinstance(entry, dict):
                raise MLFError(f"{METADATA}: modules.{name}: expected an object")
            entries.append((name, entry, f"modules.{name}."))
        return entries
    return [(_field(metadata, "model_name", str, ""), metadata, "")]


def _assign_sources(
    files: Mapping[str, bytes], names: list[str], style: str
) -> dict[str, list[str]]:
    """Generated sources per model: ``<M>_lib<k>`` (``lib<k>`` for operator style).

    With a single model, every file under the code directories belongs to it.
    """
    code = sorted(
        name
        for name in files
        if name.startswith((SOURCE_DIR + "/", OBJECT_DIR + "/")) and name.count("/") == 3
    )
    assigned: dict[str, list[str]] = {name: [] for name in names}
    for member in code:
        stem = member.rsplit("/", 1)[1]
        for name in names:
            prefix = "" if style == "operator" else re.escape(name) + "_"
            if re.fullmatch(rf"{prefix}lib\d+\.(c|cc|cpp|o)", stem) or len(names) == 1:
                assigned[name].append(member)
                break
    return assigned


def _build_model(
    files: Mapping[str, bytes],
    version: int,
    name: str,
    entry: Mapping[str, Any],
    where: str,
    sources: list[str],
) -> Model:
    """Describe one model from its metadata entry and its files."""
    executor = _executor(_field(entry, "executors", list, where), where)
    style = _field(entry, "style", str, where)
    memory = _field(entry, "memory", dict, where, {})
    texts = {
        member: files[member].decode("utf-8", errors="replace")
        for member in sources
        if member.endswith(_SOURCE_EXTENSIONS)
    }
    functions = csource.functions_defined_in(texts.values())
    header = f"{INCLUDE_DIR}/tvmgen_{name.lower()}.h"
    header = header if header in files else None
    mangled = f"tvmgen_{name}" if name else "tvmgen"
    interface_api, unpacked_api = _interface(
        executor, header, functions.get(f"{mangled}___tvm_main__")
    )
    system_lib = "TVMSystemLibEntryPoint" in functions
    graph_member = (
        f"executor-config/graph/{name}.graph"
        if version == 7
        else "executor-config/graph/graph.json"
    )
    graph_member = graph_member if executor == "graph" and graph_member in files else None
    graph = _load_graph(files, graph_member) if graph_member else None
    params_member = f"parameters/{name}.params"
    params_member = params_member if params_member in files else None
    relay_member = f"src/{name}.relay" if version == 7 else "src/relay.txt"
    relay = files[relay_member].decode("utf-8", "replace") if relay_member in files else ""
    main_entries = _main_entries(memory, where)
    if style == "operator":
        operators = _operator_style_functions(memory, where)
        inputs: tuple[TensorInfo, ...] = ()
        outputs: tuple[TensorInfo, ...] = ()
    else:
        operators = _operator_functions(memory, where)
        metadata_source = next((t for t in texts.values() if "kTvmgenMetadata" in t), "")
        inputs, outputs = _io(main_entries, graph, graph_member, metadata_source, relay, where)
    return Model(
        name=name,
        executor=executor,
        interface_api=interface_api,
        unpacked_api=unpacked_api,
        system_lib=system_lib,
        targets=_targets(_field(entry, "target", (list, dict, str), where)),
        entry_points=_entry_points(executor, mangled, functions, system_lib, operators),
        inputs=inputs,
        outputs=outputs,
        memory=_device_memory(main_entries, where),
        operator_functions=operators,
        sources=tuple(sources),
        header=header,
        graph_member=graph_member,
        graph=graph,
        params_member=params_member,
        params_data=files[params_member] if params_member else None,
    )


def _executor(executors: list[Any], where: str) -> str | None:
    """``"aot"`` or ``"graph"``; None for operator style (an empty list)."""
    if not executors:
        return None
    if len(executors) != 1 or executors[0] not in ("aot", "graph"):
        raise MLFError(
            f'{METADATA}: {where}executors: expected ["aot"] or ["graph"], got {executors}'
        )
    return executors[0]


def _interface(
    executor: str | None, header: str | None, main_params: str | None
) -> tuple[str | None, bool | None]:
    """(interface API, unpacked API) of an AOT model; neither is recorded in metadata.json.

    The C interface is the one with a header; the AOT main takes typed data pointers exactly
    when the API is unpacked (generated-code-abi.md 5, 7.2).
    """
    if executor != "aot":
        return None, None
    if main_params is not None:
        unpacked = "arg_type_ids" not in main_params and "TVMValue" not in main_params
    else:
        unpacked = True if header else None
    return ("c" if header else "packed"), unpacked


def _device_memory(main_entries: list[dict[str, Any]], where: str) -> tuple[DeviceMemory, ...]:
    """One ``DeviceMemory`` per ``memory.functions.main`` entry."""
    result = []
    for i, main in enumerate(main_entries):
        path = f"{where}memory.functions.main[{i}]."
        result.append(
            DeviceMemory(
                device=_field(main, "device", int, path, 1),
                workspace_size_bytes=_field(main, "workspace_size_bytes", int, path, 0),
                constants_size_bytes=_field(main, "constants_size_bytes", int, path, 0),
                io_size_bytes=_field(main, "io_size_bytes", int, path, 0),
            )
        )
    return tuple(result)


def _targets(value: list | dict | str) -> tuple[str, ...]:
    """Target strings: a list (v6, v7), an object keyed by device type (v5) or one string."""
    if isinstance(value, str):
        return (value,)
    items = value.values() if isinstance(value, dict) else value
    return tuple(str(item) for item in items)


def _entry_points(
    executor: str | None,
    mangled: str,
    functions: Mapping[str, str],
    system_lib: bool,
    operators: tuple[OperatorFunction, ...],
) -> tuple[str, ...]:
    """The symbols a caller uses: AOT run (+ metadata getter), system library, or operators."""
    points = []
    if executor == "aot":
        points.append(f"{mangled}_run")
        if f"{mangled}_get_c_metadata" in functions:
            points.append(f"{mangled}_get_c_metadata")
    elif executor is None:
        points.extend(op.name for op in operators)
        if "__tvm_main__" in functions:
            points.append("__tvm_main__")
    if system_lib:
        points.append("TVMSystemLibEntryPoint")
    return tuple(points)


def _main_entries(memory: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """``memory.functions.main``: one object per device (empty if absent)."""
    functions = _field(memory, "functions", dict, f"{where}memory.", {})
    main = _field(functions, "main", list, f"{where}memory.functions.", [])
    for i, item in enumerate(main):
        if not isinstance(item, dict):
            raise MLFError(f"{METADATA}: {where}memory.functions.main[{i}]: expected an object")
    return main


def _operator_functions(memory: Mapping[str, Any], where: str) -> tuple[OperatorFunction, ...]:
    """``memory.functions.operator_functions`` of a full-model archive."""
    functions = _field(memory, "functions", dict, f"{where}memory.", {})
    path = f"{where}memory.functions.operator_functions"
    result = []
    for i, item in enumerate(
        _field(functions, "operator_functions", list, f"{where}memory.functions.", [])
    ):
        if not isinstance(item, dict):
            raise MLFError(f"{METADATA}: {path}[{i}]: expected an object")
        workspace = _field(item, "workspace", list, f"{path}[{i}].", [])
        total = sum(
            _field(ws, "workspace_size_bytes", int, f"{path}[{i}].workspace.", 0)
            for ws in workspace
            if isinstance(ws, dict)
        )
        result.append(OperatorFunction(_field(item, "function_name", str, f"{path}[{i}]."), total))
    return tuple(result)


def _operator_style_functions(
    memory: Mapping[str, Any], where: str
) -> tuple[OperatorFunction, ...]:
    """Operator style: ``memory`` maps each function to its buffers in parameter order."""
    result = []
    for function, buffers in memory.items():
        if not isinstance(buffers, list) or not all(isinstance(b, dict) for b in buffers):
            raise MLFError(f"{METADATA}: {where}memory.{function}: expected a list of buffers")
        infos = tuple(
            TensorInfo(
                name=buffer.get("input_binding") or f"arg{i}",
                dtype=buffer.get("dtype"),
                shape=tuple(buffer["shape"]) if isinstance(buffer.get("shape"), list) else None,
                size_bytes=buffer.get("size_bytes"),
            )
            for i, buffer in enumerate(buffers)
        )
        result.append(OperatorFunction(function, 0, infos))
    return tuple(result)


def _load_graph(files: Mapping[str, bytes], member: str) -> dict[str, Any]:
    """Parse the graph JSON, naming the member if it is not JSON."""
    try:
        graph = json.loads(files[member].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MLFError(f"{member}: not valid JSON: {error}") from None
    if not isinstance(graph, dict):
        raise MLFError(f"{member}: expected a JSON object")
    return graph


def graph_io_types(
    graph: Mapping[str, Any], member: str
) -> tuple[dict[str, tuple[Shape, str]], list[tuple[Shape, str]]]:
    """(input node name -> (shape, dtype), [(shape, dtype) per head]) from a graph JSON."""
    try:
        nodes = graph["nodes"]
        rows = graph["node_row_ptr"]
        shapes = graph["attrs"]["shape"][1]
        dtypes = graph["attrs"]["dltype"][1]
        inputs = {
            nodes[n]["name"]: (tuple(shapes[rows[n]]), dtypes[rows[n]]) for n in graph["arg_nodes"]
        }
        outputs = [(tuple(shapes[rows[n] + i]), dtypes[rows[n] + i]) for n, i, *_ in graph["heads"]]
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise MLFError(
            f"{member}: malformed graph JSON ({type(error).__name__}: {error})"
        ) from None
    return inputs, outputs


_Declared = tuple[str, str | None, int | None]  # name, dtype, size in bytes


def _io(
    main_entries: list[dict[str, Any]],
    graph: Mapping[str, Any] | None,
    graph_member: str | None,
    metadata_source: str,
    relay: str,
    where: str,
) -> tuple[tuple[TensorInfo, ...], tuple[TensorInfo, ...]]:
    """Inputs and outputs: names, dtypes and sizes from metadata.json, shapes from the code.

    Shape sources in order: the graph JSON, the TVMMetadata tables (AOT packed), then the
    Relay text's ``@main`` signature. Archives from TVM before 0.11 have no ``inputs`` or
    ``outputs`` in metadata.json; their tensors come from those same sources.
    """
    graph_inputs, graph_outputs = graph_io_types(graph, graph_member or "") if graph else ({}, [])
    meta_inputs = csource.metadata_tensors(metadata_source, "inputs")
    meta_outputs = csource.metadata_tensors(metadata_source, "outputs")
    meta_input_types = [_meta_type(tensor) for tensor in meta_inputs]
    meta_output_types = [_meta_type(tensor) for tensor in meta_outputs]
    relay_params, relay_results = relay_text.main_signature(relay)
    inputs = _declared(main_entries, "inputs", where)
    outputs = _declared(main_entries, "outputs", where)
    if not inputs and not outputs:
        inputs, outputs = _undeclared_io(graph_inputs, graph_outputs, meta_inputs, meta_outputs)
    input_infos = tuple(
        _tensor(
            name,
            dtype,
            size,
            [graph_inputs.get(name), _at(meta_input_types, i), relay_params.get(name)],
        )
        for i, (name, dtype, size) in enumerate(inputs)
    )
    output_infos = tuple(
        _tensor(
            name,
            dtype,
            size,
            [_at(graph_outputs, i), _at(meta_output_types, i), _at(relay_results, i)],
        )
        for i, (name, dtype, size) in enumerate(outputs)
    )
    return input_infos, output_infos


def _declared(main_entries: list[dict[str, Any]], kind: str, where: str) -> list[_Declared]:
    """The ``inputs`` or ``outputs`` objects of every ``main`` entry, in order."""
    result: list[_Declared] = []
    for i, main in enumerate(main_entries):
        path = f"{where}memory.functions.main[{i}]."
        for name, info in _field(main, kind, dict, path, {}).items():
            if not isinstance(info, dict):
                raise MLFError(f"{METADATA}: {path}{kind}.{name}: expected an object")
            size = info.get("size")
            result.append((name, info.get("dtype"), size if isinstance(size, int) else None))
    return result


def _at(items: list[Any], index: int) -> Any:
    """``items[index]``, or None past the end."""
    return items[index] if index < len(items) else None


def _tensor(name: str, dtype: str | None, size: int | None, candidates: list[Any]) -> TensorInfo:
    """A tensor whose missing shape (and dtype) come from the first source that knows them."""
    known = [found for found in candidates if found is not None]
    shape = next((found[0] for found in known if found[0] is not None), None)
    dtype = dtype or next((found[1] for found in known if found[1]), None)
    if size is None and shape is not None and dtype is not None:
        try:
            size = tensor_bytes(dtype, shape)
        except MLFError:
            size = None
    return TensorInfo(name, dtype, shape, size)


def _meta_type(tensor: csource.MetadataTensor) -> tuple[Shape | None, str | None]:
    """(shape, dtype name) of a TVMMetadata tensor."""
    code, bits, _lanes = tensor.dl_dtype
    family = _DL_NAMES.get(code)
    return tensor.shape, f"{family}{bits}" if family else None


def _undeclared_io(
    graph_inputs: dict[str, tuple[Shape, str]],
    graph_outputs: list[tuple[Shape, str]],
    meta_inputs: list[csource.MetadataTensor],
    meta_outputs: list[csource.MetadataTensor],
) -> tuple[list[_Declared], list[_Declared]]:
    """Tensor names for archives whose metadata.json predates ``inputs``/``outputs``.

    Graph: every input node that is not a bound parameter (``p<N>``); AOT packed: the
    TVMMetadata names, a single output called ``output`` as metadata.json would.
    """
    if meta_inputs or meta_outputs:
        inputs = [(t.name, None, None) for t in meta_inputs]
        names = ["output"] if len(meta_outputs) == 1 else [t.name for t in meta_outputs]
        return inputs, [(name, None, None) for name in names]
    inputs = [(name, None, None) for name in graph_inputs if not re.fullmatch(r"p\d+", name)]
    single = len(graph_outputs) == 1
    outputs = [
        ("output" if single else f"output{i}", None, None) for i in range(len(graph_outputs))
    ]
    return inputs, outputs
