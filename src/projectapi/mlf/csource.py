"""Facts read from TVM-generated C: defined functions, TVMMetadata tensors, interface header.

MLF's metadata does not record the interface API, system-lib presence or tensor shapes, so they
are recovered from the sources (docs/generated-code.md). These are lexical scans tuned to
generated code, not a C parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Comments and literals, matched together so that "//" inside a string is not a comment.
_LEXICAL_RE = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.DOTALL
)
# A name followed by a parameter list without nested parentheses and an opening brace.
_DEFINITION_RE = re.compile(r"\b([A-Za-z_]\w*)\s*\(([^()]*)\)\s*\{")
_NOT_FUNCTIONS = frozenset({"if", "for", "while", "switch", "return", "sizeof"})
_METADATA_SHAPE_RE = re.compile(
    r"kTvmgenMetadata_(inputs|outputs)_(\d+)_shape\s*\[\s*\d*\s*\]\s*=\s*\{([^}]*)\}"
)
_METADATA_ENTRY_RE = re.compile(
    r'\{\s*"((?:\\.|[^"\\])*)"\s*,\s*kTvmgenMetadata_(inputs|outputs)_(\d+)_shape\s*,'
    r"\s*\d+L?\s*,\s*\{\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\}"
)
_DEFINE_RE = re.compile(r"^\s*#\s*define\s+(\w+)\s+(\d+)\s*$", re.MULTILINE)
_MEMBER_RE = re.compile(r"void\s*\*\s*(\w+)\s*;")


@dataclass(frozen=True)
class MetadataTensor:
    """One input or output as a TVMMetadata table describes it."""

    name: str
    shape: tuple[int, ...] | None
    dl_dtype: tuple[int, int, int]


def strip_comments(text: str) -> str:
    """Remove C comments, keeping string and character literals."""
    return _LEXICAL_RE.sub(lambda m: " " if m.group(0)[0] == "/" else m.group(0), text)


def _code_only(text: str) -> str:
    """Remove comments and empty every literal, leaving only code."""
    return _LEXICAL_RE.sub(lambda m: '""' if m.group(0)[0] == '"' else " ", text)


def defined_functions(text: str) -> dict[str, str]:
    """Function name -> parameter list text for every function defined in a C source."""
    return {
        match.group(1): " ".join(match.group(2).split())
        for match in _DEFINITION_RE.finditer(_code_only(text))
        if match.group(1) not in _NOT_FUNCTIONS
    }


def functions_defined_in(texts: Iterable[str]) -> dict[str, str]:
    """``defined_functions`` over several sources."""
    functions: dict[str, str] = {}
    for text in texts:
        functions.update(defined_functions(text))
    return functions


def metadata_tensors(text: str, kind: str) -> list[MetadataTensor]:
    """The ``inputs`` or ``outputs`` of a TVMMetadata table, in index order (empty if none)."""
    code = strip_comments(text)
    shapes = {
        int(index): _ints(values)
        for found_kind, index, values in _METADATA_SHAPE_RE.findall(code)
        if found_kind == kind
    }
    tensors = {}
    for name, found_kind, index, code_, bits, lanes in _METADATA_ENTRY_RE.findall(code):
        if found_kind == kind:
            dl_dtype = (int(code_), int(bits), int(lanes))
            tensors[int(index)] = MetadataTensor(name, shapes.get(int(index)), dl_dtype)
    return [tensors[index] for index in sorted(tensors)]


def _ints(values: str) -> tuple[int, ...] | None:
    """Parse ``1L, 28L`` style integer lists; None if any item is not an integer."""
    items = [item.strip().rstrip("uUlL") for item in values.split(",") if item.strip()]
    if not all(re.fullmatch(r"-?\d+", item) for item in items):
        return None
    return tuple(int(item) for item in items)


def header_defines(text: str) -> dict[str, int]:
    """Integer macros of an interface header (size and workspace macros)."""
    return {name: int(value) for name, value in _DEFINE_RE.findall(strip_comments(text))}


def header_struct_members(text: str, struct_name: str) -> list[str] | None:
    """Member names of ``struct <struct_name> { void* a; ... };`` or None if not declared."""
    match = re.search(rf"struct\s+{re.escape(struct_name)}\s*\{{([^}}]*)\}}", strip_comments(text))
    return None if match is None else _MEMBER_RE.findall(match.group(1))


def c_identifier(name: str) -> str:
    """TVM's name sanitising for struct members and macros: non-alphanumerics become ``_``."""
    return re.sub(r"[^0-9A-Za-z]", "_", name)
