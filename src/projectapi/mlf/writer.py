"""Build a version-7 Model Library Format archive from C sources and a model description.

For people who bring their own generated code: an AOT model with the C interface
(``tvmgen_<M>_run(struct tvmgen_<M>_inputs*, struct tvmgen_<M>_outputs*)``). The archive has
what TVM 0.14 writes for such a model (docs/mlf.md): ``metadata.json`` with
inputs and outputs in ``memory.functions.main``, the sources as ``codegen/host/src/<M>_lib<k>``,
the interface header (given, or generated from the description), an empty
``parameters/<M>.params`` and a ``src/<M>.relay`` stating ``@main``'s signature. The result is
validated before it replaces ``dest``; nothing is left behind on failure.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from microtvm_kit.archive import ArchiveFormatError
from microtvm_kit.archive.dtypes import parse_dtype
from microtvm_kit.archive.tensors import TensorSpec
from projectapi.mlf import csource
from projectapi.mlf.checks import check
from projectapi.mlf.errors import MLFError, MLFValidationError
from projectapi.mlf.library import INCLUDE_DIR, SOURCE_DIR, ModelLibrary, open_library
from projectapi.mlf.params import write_params

# Lower case only: TVM's own C-interface code does not compile for names with capitals
# (docs/generated-code.md), and the name becomes part of C identifiers.
_MODEL_NAME_RE = re.compile(r"[a-z_][a-z0-9_]*")
_SOURCE_EXTENSIONS = (".c", ".cc", ".cpp")
# What TVM records for Target("c").
DEFAULT_TARGET = "c -keys=cpu "
# Suffixes of generated symbols that are not operators.
_NOT_OPERATORS = ("_run", "___tvm_main__", "_get_c_metadata", "_map_inputs", "_map_outputs")


def pack(
    dest: str | os.PathLike[str],
    *,
    model_name: str,
    sources: Mapping[str, bytes],
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    header: bytes | None = None,
    workspace_size_bytes: int | None = None,
    constants_size_bytes: int = 0,
    target: str = DEFAULT_TARGET,
    extra_metadata: Mapping[str, Any] | None = None,
) -> ModelLibrary:
    """Write the archive to ``dest`` (a plain tar, as TVM writes) and return it opened.

    ``sources`` maps file names (only their extension is kept) to contents, in the order they
    become ``<M>_lib0``, ``<M>_lib1``...; ``workspace_size_bytes`` defaults to the header's
    ``TVMGEN_<M>_WORKSPACE_SIZE`` or 0; ``extra_metadata`` adds keys to the model's entry in
    ``metadata.json`` (e.g. which compiler made it).
    """
    _check_description(model_name, sources, inputs, outputs)
    if (workspace_size_bytes or 0) < 0 or constants_size_bytes < 0:
        raise MLFError("workspace and constants sizes must not be negative")
    if header is None:
        header = interface_header(model_name, inputs, outputs, workspace_size_bytes or 0)
    if workspace_size_bytes is None:
        macro = f"TVMGEN_{model_name.upper()}_WORKSPACE_SIZE"
        workspace_size_bytes = csource.header_defines(header.decode("utf-8", "replace")).get(
            macro, 0
        )
    named_sources = {
        f"{SOURCE_DIR}/{model_name}_lib{k}{Path(name).suffix}": content
        for k, (name, content) in enumerate(sources.items())
    }
    defined = csource.functions_defined_in(
        content.decode("utf-8", "replace") for content in named_sources.values()
    )
    operators = sorted(
        name
        for name in defined
        if name.startswith(f"tvmgen_{model_name}_") and not name.endswith(_NOT_OPERATORS)
    )
    metadata = _metadata(
        model_name, inputs, outputs, workspace_size_bytes, constants_size_bytes, target, operators
    )
    metadata["modules"][model_name].update(extra_metadata or {})
    files = {
        "metadata.json": json.dumps(metadata, indent=2).encode() + b"\n",
        **named_sources,
        f"{INCLUDE_DIR}/tvmgen_{model_name}.h": header,
        f"parameters/{model_name}.params": write_params({}),
        f"src/{model_name}.relay": _relay_signature(inputs, outputs).encode(),
    }
    return _write_checked(Path(dest), files)


def _check_description(
    model_name: str,
    sources: Mapping[str, bytes],
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
) -> None:
    """Refuse descriptions that cannot make a working archive, naming what to fix."""
    if not _MODEL_NAME_RE.fullmatch(model_name):
        raise MLFError(
            f"model name {model_name!r}: use lower-case letters, digits and '_' (a C identifier)"
        )
    if not sources:
        raise MLFError("no C sources given: the archive needs the generated code")
    for name in sources:
        if not name.endswith(_SOURCE_EXTENSIONS):
            raise MLFError(f"source {name}: expected a .c, .cc or .cpp file")
    if not inputs or not outputs:
        raise MLFError("the model needs at least one input and one output")
    for kind, tensors in (("input", inputs), ("output", outputs)):
        seen: dict[str, str] = {}
        for tensor in tensors:
            if not tensor.shape or any(dim <= 0 for dim in tensor.shape):
                raise MLFError(
                    f"{kind} '{tensor.name}': shape {list(tensor.shape)} must be positive"
                )
            try:
                parse_dtype(tensor.dtype)
            except ArchiveFormatError as error:
                raise MLFError(f"{kind} '{tensor.name}': {error}") from None
            identifier = csource.c_identifier(tensor.name)
            if identifier in seen:
                raise MLFError(
                    f"{kind}s '{seen[identifier]}' and '{tensor.name}' both become the C name "
                    f"'{identifier}'; rename one"
                )
            seen[identifier] = tensor.name


def _metadata(
    model_name: str,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    workspace_size_bytes: int,
    constants_size_bytes: int,
    target: str,
    operators: list[str],
) -> dict[str, Any]:
    """metadata.json for one AOT model; keys sorted as TVM writes them, I/O in model order."""

    def tensors(items: Sequence[TensorSpec]) -> dict[str, Any]:
        return {t.name: {"dtype": t.dtype, "size": t.size_bytes} for t in items}

    main = {
        "constants_size_bytes": constants_size_bytes,
        "device": 1,
        "inputs": tensors(inputs),
        "io_size_bytes": sum(t.size_bytes for t in (*inputs, *outputs)),
        "outputs": tensors(outputs),
        "workspace_size_bytes": workspace_size_bytes,
    }
    operator_functions = [
        {"function_name": name, "workspace": [{"device": 1, "workspace_size_bytes": 0}]}
        for name in operators
    ]
    module = {
        "executors": ["aot"],
        "export_datetime": time.strftime("%Y-%m-%d %H:%M:%SZ"),
        "memory": {"functions": {"main": [main], "operator_functions": operator_functions}},
        "model_name": model_name,
        "style": "full-model",
        "target": [target],
    }
    return {"modules": {model_name: module}, "version": 7}


def interface_header(
    model_name: str,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    workspace_size_bytes: int,
) -> bytes:
    """The C interface header ``tvmgen_<M>.h``: size macros, I/O structs, run prototype."""
    lower, upper = f"tvmgen_{model_name}", f"TVMGEN_{model_name.upper()}"

    def members(items: Sequence[TensorSpec]) -> str:
        return "".join(f"  void* {csource.c_identifier(t.name)};\n" for t in items)

    sizes = "".join(
        f"#define {upper}_{csource.c_identifier(t.name).upper()}_SIZE {t.size_bytes}\n"
        for t in (*inputs, *outputs)
    )
    text = (
        f"#ifndef {upper}_H_\n#define {upper}_H_\n#include <stdint.h>\n\n"
        f'#ifdef __cplusplus\nextern "C" {{\n#endif\n\n'
        f'/* Bytes of each input and output of model "{model_name}". */\n{sizes}\n'
        f"/* Data pointers of the inputs, in model input order. */\n"
        f"struct {lower}_inputs {{\n{members(inputs)}}};\n\n"
        f"/* Data pointers of the outputs, in model output order. */\n"
        f"struct {lower}_outputs {{\n{members(outputs)}}};\n\n"
        f"/* Runs the model once on caller-owned buffers; returns 0 on success. */\n"
        f"int32_t {lower}_run(struct {lower}_inputs* inputs, struct {lower}_outputs* outputs);\n\n"
        f"/* Bytes of working memory the model uses. */\n"
        f"#define {upper}_WORKSPACE_SIZE {workspace_size_bytes}\n\n"
        f'#ifdef __cplusplus\n}}  /* extern "C" */\n#endif\n\n#endif  /* {upper}_H_ */\n'
    )
    return text.encode()


def _relay_signature(inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec]) -> str:
    """Informative Relay text: the types of ``@main``, where readers look for shapes."""

    def tensor_type(tensor: TensorSpec) -> str:
        dims = ", ".join(map(str, tensor.shape)) + ("," if len(tensor.shape) == 1 else "")
        return f"Tensor[({dims}), {tensor.dtype}]"

    params = ", ".join(f"%{t.name}: {tensor_type(t)}" for t in inputs)
    result = ", ".join(tensor_type(t) for t in outputs)
    result = result if len(outputs) == 1 else f"({result})"
    return (
        f"def @main({params}) -> {result} {{\n"
        f"  /* the body is not recorded: this archive was packed from C sources */\n}}\n"
    )


def _write_checked(dest: Path, files: Mapping[str, bytes]) -> ModelLibrary:
    """Write the tar beside ``dest``, validate it, then move it into place."""
    if not dest.parent.is_dir():
        raise MLFError(f"{dest}: the directory {dest.parent} does not exist")
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent
    )
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as stream:
            _write_tar(stream, files)
        problems = check(open_library(temp))
        if problems:
            raise MLFValidationError(str(dest), problems)
        temp.chmod(0o644)
        os.replace(temp, dest)
    finally:
        if temp.exists():
            temp.unlink()
    return open_library(dest)


def _write_tar(stream: io.BufferedIOBase, files: Mapping[str, bytes]) -> None:
    """A tar laid out like TVM's: ``./`` first, parent directories before their files."""
    now = time.time()

    def info(name: str, kind: bytes, size: int = 0) -> tarfile.TarInfo:
        member = tarfile.TarInfo(name)
        member.type, member.size, member.mtime = kind, size, now
        member.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        member.uname = member.gname = "root"
        return member

    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info("./", tarfile.DIRTYPE))
        made: set[str] = set()
        for name in sorted(files):
            parts = name.split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in made:
                    made.add(directory)
                    tar.addfile(info(f"./{directory}/", tarfile.DIRTYPE))
            tar.addfile(
                info(f"./{name}", tarfile.REGTYPE, len(files[name])), io.BytesIO(files[name])
            )
