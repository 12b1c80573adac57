"""Tensor data type names as archives write them (``float32``, ``int8``...) and their sizes."""

from __future__ import annotations

import re
from typing import Sequence, Tuple

from .errors import ArchiveFormatError

# DLPack type codes (docs/mlf.md, "Data types") of the families an archive can name.
DTYPE_CODES = {"int": 0, "uint": 1, "float": 2, "bfloat": 4}
_DTYPE_RE = re.compile(r"(int|uint|float|bfloat)([1-9][0-9]{0,2})")


def parse_dtype(dtype: str) -> Tuple[int, int, int]:
    """The DLPack (code, bits, lanes) of a dtype name; only int/uint/float/bfloat<N> are valid."""
    match = _DTYPE_RE.fullmatch(dtype) if isinstance(dtype, str) else None
    if match is None:
        raise ArchiveFormatError(
            f"unsupported dtype {dtype!r}: expected int<N>, uint<N>, float<N> or bfloat<N>"
        )
    return DTYPE_CODES[match.group(1)], int(match.group(2)), 1


def dtype_bits(dtype: str) -> int:
    """Bits per element of a dtype name."""
    return parse_dtype(dtype)[1]


def item_bytes(dtype: str) -> int:
    """Bytes one element occupies in memory (sub-byte types take a whole byte)."""
    return (dtype_bits(dtype) + 7) // 8


def element_count(shape: Sequence[int]) -> int:
    """Elements of a dense tensor of this shape."""
    count = 1
    for dim in shape:
        count *= int(dim)
    return count


def tensor_bytes(dtype: str, shape: Sequence[int]) -> int:
    """Bytes of a dense tensor, ``ceil(bits * elements / 8)`` as TVM's exporter computes it."""
    return -(-dtype_bits(dtype) * element_count(shape) // 8)
