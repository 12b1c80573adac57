"""``metadata.json`` of a Model Library Format archive, versions 5, 6 and 7 (docs/mlf.md).

Parsed strictly: a missing or mistyped field is an ``ArchiveFormatError`` naming its key path.
Version 7 lists models under ``modules``; versions 5 and 6 (and a version 7 without
``modules``) describe one model at the top level.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Type, Union

from ..safe_tar import shown_name
from .errors import ArchiveFormatError

METADATA = "metadata.json"
SUPPORTED_VERSIONS = (5, 6, 7)
_REQUIRED = object()
# The generated code's symbols embed the model name (tvmgen_<name>_run).
_MODEL_NAME_RE = re.compile(r"[A-Za-z0-9_]{0,128}")


def load_json_object(data: bytes, member: str) -> Dict[str, Any]:
    """Parse a JSON object member, naming the member when it is not one.

    Nesting deep enough to exhaust the parser's recursion is refused with a clear message.
    """
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArchiveFormatError(f"{member}: not valid JSON: {error}") from None
    except RecursionError:
        raise ArchiveFormatError(f"{member}: JSON nested too deeply to read") from None
    if not isinstance(value, dict):
        raise ArchiveFormatError(f"{member}: expected a JSON object, got {type(value).__name__}")
    return value


def checked_field(
    obj: Mapping[str, Any],
    key: str,
    kind: Union[Type[Any], Tuple[Type[Any], ...]],
    where: str,
    default: Any = _REQUIRED,
) -> Any:
    """``obj[key]`` checked against ``kind``; a missing or mistyped value names its key path."""
    if key not in obj:
        if default is _REQUIRED:
            raise ArchiveFormatError(f"{METADATA}: {where}{key}: missing")
        return default
    value = obj[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (int in kinds and isinstance(value, bool)):
        expected = " or ".join(k.__name__ for k in kinds)
        raise ArchiveFormatError(
            f"{METADATA}: {where}{key}: expected {expected}, got {type(value).__name__}"
        )
    return value


@dataclass(frozen=True)
class DeclaredTensor:
    """An input or output as ``memory.functions.main[i]`` declares it (TVM >= 0.11)."""

    name: str
    dtype: Optional[str]
    size: Optional[int]


@dataclass(frozen=True)
class DeviceMemory:
    """Memory the main function needs on one device (``memory.functions.main[i]``)."""

    device: int
    workspace_size_bytes: int
    constants_size_bytes: int
    io_size_bytes: int


@dataclass(frozen=True)
class ModelEntry:
    """One model's part of ``metadata.json``; ``entry`` keeps the raw object for the rest."""

    name: str
    where: str  # key path prefix of the entry, for messages
    style: str  # "full-model" or "operator"
    executor: Optional[str]  # "aot", "graph", or None for operator style
    memory: Tuple[DeviceMemory, ...]
    inputs: Tuple[DeclaredTensor, ...]
    outputs: Tuple[DeclaredTensor, ...]
    entry: Mapping[str, Any] = dataclass_field(repr=False)

    @property
    def workspace_size_bytes(self) -> int:
        """Workspace over all devices."""
        return sum(item.workspace_size_bytes for item in self.memory)


@dataclass(frozen=True)
class Metadata:
    """A parsed ``metadata.json``: its version and one entry per model."""

    version: int
    models: Tuple[ModelEntry, ...]
    raw: Mapping[str, Any] = dataclass_field(repr=False)


def parse_metadata(data: bytes) -> Metadata:
    """Parse and check ``metadata.json``; raise ``ArchiveFormatError`` naming the problem."""
    raw = load_json_object(data, METADATA)
    version = raw.get("version")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise ArchiveFormatError(
            f"{METADATA}: unsupported format version {version!r:.40} "
            f"(supported: {', '.join(map(str, SUPPORTED_VERSIONS))})"
        )
    entries = tuple(
        _model_entry(name, obj, where) for name, obj, where in _raw_entries(raw, version)
    )
    return Metadata(version, entries, raw)


def _raw_entries(raw: Dict[str, Any], version: int) -> List[Tuple[str, Dict[str, Any], str]]:
    """(model name, object describing it, key path prefix) per model."""
    if version == 7 and "modules" in raw:
        modules = checked_field(raw, "modules", dict, "")
        if not modules:
            raise ArchiveFormatError(f"{METADATA}: modules: empty (no model in the archive)")
        for name, obj in modules.items():
            if not isinstance(obj, dict):
                raise ArchiveFormatError(
                    f"{METADATA}: modules.{shown_name(name)}: expected an object"
                )
        return [(name, obj, f"modules.{shown_name(name)}.") for name, obj in modules.items()]
    return [(checked_field(raw, "model_name", str, ""), raw, "")]


def _model_entry(name: str, obj: Dict[str, Any], where: str) -> ModelEntry:
    """Check one model's object: name, style, executor, memory and declared tensors."""
    if not _MODEL_NAME_RE.fullmatch(name):
        raise ArchiveFormatError(
            f"{METADATA}: model name '{shown_name(name)}' is not usable in C symbols "
            "(letters, digits and '_', at most 128 characters)"
        )
    memory = checked_field(obj, "memory", dict, where, {})
    main = main_entries(memory, where)
    return ModelEntry(
        name=name,
        where=where,
        style=checked_field(obj, "style", str, where),
        executor=_executor(checked_field(obj, "executors", list, where), where),
        memory=tuple(
            _device_memory(item, f"{where}memory.functions.main[{i}].")
            for i, item in enumerate(main)
        ),
        inputs=_declared(main, "inputs", where),
        outputs=_declared(main, "outputs", where),
        entry=obj,
    )


def _executor(executors: List[Any], where: str) -> Optional[str]:
    """``"aot"`` or ``"graph"``; None for operator style (an empty list)."""
    if not executors:
        return None
    if len(executors) != 1 or executors[0] not in ("aot", "graph"):
        raise ArchiveFormatError(
            f'{METADATA}: {where}executors: expected ["aot"] or ["graph"], got {executors}'
        )
    return executors[0]


def main_entries(memory: Mapping[str, Any], where: str) -> List[Dict[str, Any]]:
    """``memory.functions.main``: one object per device (empty if absent)."""
    functions = checked_field(memory, "functions", dict, f"{where}memory.", {})
    main = checked_field(functions, "main", list, f"{where}memory.functions.", [])
    for i, item in enumerate(main):
        if not isinstance(item, dict):
            raise ArchiveFormatError(
                f"{METADATA}: {where}memory.functions.main[{i}]: expected an object"
            )
    return main


def _device_memory(main: Mapping[str, Any], path: str) -> DeviceMemory:
    return DeviceMemory(
        device=checked_field(main, "device", int, path, 1),
        workspace_size_bytes=checked_field(main, "workspace_size_bytes", int, path, 0),
        constants_size_bytes=checked_field(main, "constants_size_bytes", int, path, 0),
        io_size_bytes=checked_field(main, "io_size_bytes", int, path, 0),
    )


def _declared(main: List[Dict[str, Any]], kind: str, where: str) -> Tuple[DeclaredTensor, ...]:
    """The ``inputs`` or ``outputs`` objects of every ``main`` entry, in order."""
    result = []
    for i, item in enumerate(main):
        path = f"{where}memory.functions.main[{i}]."
        for name, info in checked_field(item, kind, dict, path, {}).items():
            if not isinstance(info, dict):
                raise ArchiveFormatError(
                    f"{METADATA}: {path}{kind}.{shown_name(name)}: expected an object"
                )
            dtype, size = info.get("dtype"), info.get("size")
            result.append(
                DeclaredTensor(
                    name,
                    dtype if isinstance(dtype, str) else None,
                    size if isinstance(size, int) and not isinstance(size, bool) else None,
                )
            )
    return tuple(result)
