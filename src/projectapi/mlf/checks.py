"""Consistency checks of an opened archive, each problem naming its member and the broken rule.

``open`` already refuses what cannot be read at all (unsafe tar, no or bad ``metadata.json``,
unknown version, malformed graph JSON). These checks find what would fail later, at build or
run time: missing sources or entry points, a graph calling an undefined operator, unbound graph
inputs, params that do not parse, sizes that disagree with shapes or with the header.
"""

from __future__ import annotations

import os

from microtvm_kit.archive import ArchiveFormatError, is_plain_name
from microtvm_kit.archive.dtypes import dtype_bits, tensor_bytes
from microtvm_kit.safe_tar import shown_name
from projectapi.mlf import csource
from projectapi.mlf.errors import MLFValidationError, ParamsFormatError, Problem
from projectapi.mlf.library import (
    METADATA,
    OBJECT_DIR,
    SOURCE_DIR,
    Model,
    ModelLibrary,
    TensorInfo,
    graph_io_types,
    open_library,
)


def validate(path: str | os.PathLike[str]) -> ModelLibrary:
    """Open and check an archive; raise ``MLFValidationError`` listing every problem."""
    library = open_library(path)
    problems = check(library)
    if problems:
        raise MLFValidationError(str(path), problems)
    return library


def check(library: ModelLibrary) -> list[Problem]:
    """Every problem found in an opened archive (empty when it is valid)."""
    problems = []
    claimed = {member for model in library.models for member in model.sources}
    for member in sorted(library.files):
        if member.startswith((SOURCE_DIR + "/", OBJECT_DIR + "/")) and member not in claimed:
            problems.append(Problem(member, "belongs to no model (expected <model>_lib<N>.c)"))
    for model in library.models:
        problems.extend(_check_model(library, model))
    return problems


def _check_model(library: ModelLibrary, model: Model) -> list[Problem]:
    """Problems of one model."""
    if not model.sources:
        return [
            Problem(
                SOURCE_DIR,
                f"model '{model.name}' has no generated sources "
                f"(expected {SOURCE_DIR}/{model.name}_lib0.c or {OBJECT_DIR}/{model.name}_lib0.o)",
            )
        ]
    texts = [library.text(member) for member in model.sources if not member.endswith(".o")]
    # Object files (target llvm) cannot be scanned; symbol checks need all code as C.
    scannable = bool(texts) and len(texts) == len(model.sources)
    defined = csource.functions_defined_in(texts) if scannable else None
    problems = _check_tensors(model)
    if defined is not None:
        problems.extend(_check_symbols(model, defined))
    if model.header is not None:
        problems.extend(_check_header(model, model.header, library.text(model.header)))
    if model.executor == "graph":
        problems.extend(_check_graph(model, defined))
    elif model.params_member is not None:
        problems.extend(_check_params(model, model.params_member))
    return problems


def _check_tensors(model: Model) -> list[Problem]:
    """Dtypes are valid and sizes agree with shapes."""
    problems = []
    for kind, tensors in (("input", model.inputs), ("output", model.outputs)):
        for tensor in tensors:
            where = f"model '{shown_name(model.name)}' {kind} '{shown_name(tensor.name)}'"
            if not is_plain_name(tensor.name):
                problems.append(
                    Problem(
                        METADATA,
                        f"{where}: not a plain name (letters, digits, '_', then also '.', ':', "
                        "'-'; no '..', at most 128 characters): it must never become a path",
                    )
                )
            if tensor.dtype is None:
                continue
            try:
                dtype_bits(tensor.dtype)
            except ArchiveFormatError as error:
                problems.append(Problem(METADATA, f"{where}: {error}"))
                continue
            if tensor.shape is not None and tensor.size_bytes is not None:
                expected = tensor_bytes(tensor.dtype, tensor.shape)
                if expected != tensor.size_bytes:
                    problems.append(
                        Problem(
                            METADATA,
                            f"{where}: size {tensor.size_bytes} bytes does not match "
                            f"{tensor.dtype}{list(tensor.shape)} ({expected} bytes)",
                        )
                    )
    return problems


def _check_symbols(model: Model, defined: dict[str, str]) -> list[Problem]:
    """Entry points and listed operator functions are defined in the sources."""
    problems = []
    for symbol in model.entry_points:
        if symbol not in defined:
            problems.append(
                Problem(SOURCE_DIR, f"entry point {symbol} of model '{model.name}' is not defined")
            )
    for function in model.operator_functions:
        if function.name not in defined:
            problems.append(
                Problem(
                    METADATA,
                    f"operator function {function.name} is listed but no source of model "
                    f"'{model.name}' defines it",
                )
            )
    return problems


def _check_header(model: Model, header: str, text: str) -> list[Problem]:
    """The C interface header declares the run function, I/O structs and size macros."""
    problems = []
    lower, upper = f"tvmgen_{model.name}".lower(), f"TVMGEN_{model.name}".upper()
    if f"{lower}_run" not in text and f"tvmgen_{model.name}_run" not in text:
        problems.append(Problem(model.header, f"does not declare tvmgen_{model.name}_run"))
    defines = csource.header_defines(text)
    for kind, tensors in (("inputs", model.inputs), ("outputs", model.outputs)):
        members = csource.header_struct_members(text, f"{lower}_{kind}")
        expected = [csource.c_identifier(tensor.name) for tensor in tensors]
        if members is None:
            problems.append(Problem(model.header, f"no struct {lower}_{kind}"))
        elif tensors and members != expected:
            problems.append(
                Problem(
                    model.header,
                    f"struct {lower}_{kind} has members {members}, metadata.json says {expected}",
                )
            )
        problems.extend(_check_size_macros(header, defines, upper, tensors))
    workspace = defines.get(f"{upper}_WORKSPACE_SIZE")
    if workspace is not None and model.memory and workspace != model.memory[0].workspace_size_bytes:
        problems.append(
            Problem(
                model.header,
                f"{upper}_WORKSPACE_SIZE is {workspace} but metadata.json says "
                f"{model.memory[0].workspace_size_bytes}",
            )
        )
    return problems


def _check_size_macros(
    header: str, defines: dict[str, int], upper: str, tensors: tuple[TensorInfo, ...]
) -> list[Problem]:
    """Each tensor's ``TVMGEN_<M>_<NAME>_SIZE`` macro, when present, equals its byte size."""
    problems = []
    for tensor in tensors:
        macro = f"{upper}_{csource.c_identifier(tensor.name).upper()}_SIZE"
        if (
            macro in defines
            and tensor.size_bytes is not None
            and defines[macro] != tensor.size_bytes
        ):
            problems.append(
                Problem(
                    header,
                    f"{macro} is {defines[macro]} but metadata.json says {tensor.size_bytes}",
                )
            )
    return problems


def _check_graph(model: Model, defined: dict[str, str] | None) -> list[Problem]:
    """The graph exists, its operators are defined, and every input node is bound."""
    if model.graph_spec is None or model.graph_member is None:
        return [Problem("executor-config/graph", f"graph model '{model.name}' has no graph JSON")]
    member = model.graph_member
    problems = []
    if defined is not None:
        for node in model.graph_spec.nodes:
            if node.op == "tvm_op" and node.func_name not in defined:
                problems.append(
                    Problem(
                        member,
                        f"node '{node.name}' calls operator {node.func_name}, which no source "
                        f"under {SOURCE_DIR} defines",
                    )
                )
    if model.params_member is not None:
        params_problems = _check_params(model, model.params_member)
        if params_problems:
            return problems + params_problems
    bound = {tensor.name for tensor in model.inputs} | set(model.params())
    graph_inputs, _outputs = graph_io_types(model.graph_spec)
    for name in graph_inputs:
        if name not in bound:
            problems.append(
                Problem(
                    member,
                    f"input node '{name}' is neither a model input nor stored in "
                    f"{model.params_member or f'parameters/{model.name}.params (missing)'}",
                )
            )
    return problems


def _check_params(model: Model, member: str) -> list[Problem]:
    """The parameters file parses."""
    try:
        model.params()
    except ParamsFormatError as error:
        return [Problem(member, str(error))]
    return []
