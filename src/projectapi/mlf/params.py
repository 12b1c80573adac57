"""numpy views of TVM's NDArray-list ``.params`` format, and its writer (docs/mlf.md).

The layout is checked by the project-side reader (``microtvm_kit.archive.params``); this module
maps its entries to numpy arrays. Entry order is kept as
stored, so ``write_params(read_params(blob)) == blob`` for every file TVM writes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

import numpy as np

from microtvm_kit.archive import params as archive_params
from microtvm_kit.archive.params import (
    CPU_DEVICE,
    LIST_MAGIC,
    TENSOR_MAGIC,
    ParamEntry,
    index_params,
)
from projectapi.mlf.errors import ParamsFormatError

# DLPack (code, bits) -> numpy dtype; TVM stores bool as a 1-bit unsigned integer (one byte each).
_NUMPY_DTYPES = {
    (0, 8): "i1", (0, 16): "<i2", (0, 32): "<i4", (0, 64): "<i8",
    (1, 8): "u1", (1, 16): "<u2", (1, 32): "<u4", (1, 64): "<u8",
    (2, 16): "<f2", (2, 32): "<f4", (2, 64): "<f8",
    (1, 1): "?",
}  # fmt: skip
_DL_TYPES = {np.dtype(numpy).newbyteorder("="): dl for dl, numpy in _NUMPY_DTYPES.items()}


def read_params(data: bytes) -> dict[str, np.ndarray]:
    """Parse a ``.params`` blob into name -> array, in stored order."""
    try:
        entries = index_params(data, _numpy_dtype)
    except archive_params.ParamsFormatError as error:
        raise ParamsFormatError(str(error)) from None
    return {entry.name: _array(data, entry) for entry in entries}


def _numpy_dtype(entry: ParamEntry) -> np.dtype:
    """The stored numpy dtype of an entry; refuses types numpy cannot hold and wrong sizes."""
    code, bits, lanes = entry.dl_type
    numpy_dtype = _NUMPY_DTYPES.get((code, bits))
    if numpy_dtype is None or lanes != 1:
        raise ParamsFormatError(
            f"array '{entry.name}': unsupported dtype (code {code}, bits {bits}, lanes {lanes})"
        )
    expected = np.dtype(numpy_dtype).itemsize * int(np.prod(entry.shape, dtype=np.int64))
    if entry.size != expected:
        raise ParamsFormatError(
            f"array '{entry.name}': data size {entry.size} does not match shape "
            f"{list(entry.shape)} ({expected} bytes)"
        )
    return np.dtype(numpy_dtype)


def _array(data: bytes, entry: ParamEntry) -> np.ndarray:
    """A native-order copy of one stored array."""
    stored = _numpy_dtype(entry)
    raw = data[entry.offset : entry.offset + entry.size]
    return np.frombuffer(raw, dtype=stored).reshape(entry.shape).astype(stored.newbyteorder("="))


def write_params(params: Mapping[str, np.ndarray]) -> bytes:
    """Serialise name -> array in the mapping's order (TVM's CRT ``load_params`` accepts it)."""
    parts = [struct.pack("<QQQ", LIST_MAGIC, 0, len(params))]
    for name in params:
        encoded = name.encode("utf-8")
        parts.append(struct.pack("<Q", len(encoded)) + encoded)
    parts.append(struct.pack("<Q", len(params)))
    for name, value in params.items():
        parts.append(_tensor_bytes(name, np.asarray(value)))
    return b"".join(parts)


def _tensor_bytes(name: str, array: np.ndarray) -> bytes:
    """One NDArray record: header, shape, size and little-endian row-major data."""
    dl_type = _DL_TYPES.get(array.dtype.newbyteorder("="))
    if dl_type is None:
        raise ParamsFormatError(f"array '{name}': dtype {array.dtype} cannot be stored in params")
    code, bits = dl_type
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    header = struct.pack("<QQiiiBBH", TENSOR_MAGIC, 0, CPU_DEVICE, 0, array.ndim, code, bits, 1)
    return header + struct.pack(f"<{array.ndim}qq", *array.shape, len(data)) + data
