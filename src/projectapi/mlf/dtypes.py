"""Tensor data type names as MLF writes them (``float32``, ``int8``...) and their sizes."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from projectapi.mlf.errors import MLFError

# DLPack type codes (generated-code-abi.md 9) for the dtype families MLF can name.
DTYPE_CODES = {"int": 0, "uint": 1, "float": 2}
_DTYPE_RE = re.compile(r"^(int|uint|float)(\d+)$")


def dtype_bits(dtype: str) -> int:
    """Bits per element of an MLF dtype name; only int/uint/float with a width are valid."""
    match = _DTYPE_RE.match(dtype)
    if not match or int(match.group(2)) == 0:
        raise MLFError(f"unsupported dtype '{dtype}': expected int<N>, uint<N> or float<N>")
    return int(match.group(2))


def dl_dtype(dtype: str) -> tuple[int, int, int]:
    """The DLPack (code, bits, lanes) triple of an MLF dtype name."""
    bits = dtype_bits(dtype)
    return DTYPE_CODES[_DTYPE_RE.match(dtype).group(1)], bits, 1


def tensor_bytes(dtype: str, shape: Sequence[int]) -> int:
    """Bytes of a dense tensor, ``ceil(bits * elements / 8)`` as TVM's exporter computes it."""
    return -(-dtype_bits(dtype) * math.prod(shape) // 8)
