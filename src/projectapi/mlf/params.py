"""Reader and writer for TVM's NDArray-list ``.params`` format (model-library-format.md 6).

The list maps names to CPU tensors; all integers are little-endian. Entry order is kept as
stored, so ``write_params(read_params(blob)) == blob`` for every file TVM writes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

import numpy as np

from projectapi.mlf.errors import ParamsFormatError

LIST_MAGIC = 0xF7E58D4F05049CB7
TENSOR_MAGIC = 0xDD5E40F096B4A13F
# TVM writes every saved tensor as device CPU (DLPack type 1), id 0.
_CPU = 1
# TVM's CRT refuses tensors above TVM_CRT_MAX_NDIM (6 by default); 32 only bounds bad input.
_MAX_NDIM = 32

# DLPack (code, bits) -> numpy dtype; TVM stores bool as a 1-bit unsigned integer (one byte each).
_NUMPY_DTYPES = {
    (0, 8): "i1", (0, 16): "<i2", (0, 32): "<i4", (0, 64): "<i8",
    (1, 8): "u1", (1, 16): "<u2", (1, 32): "<u4", (1, 64): "<u8",
    (2, 16): "<f2", (2, 32): "<f4", (2, 64): "<f8",
    (1, 1): "?",
}  # fmt: skip
_DL_TYPES = {np.dtype(numpy).newbyteorder("="): dl for dl, numpy in _NUMPY_DTYPES.items()}


class _Reader:
    """Sequential little-endian reader that names the field being read when data runs out."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int, what: str) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise ParamsFormatError(
                f"params data ends at byte {len(self.data)} while reading {what} "
                f"(needs {count} bytes at byte {self.pos}): truncated file?"
            )
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple[int, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def read_params(data: bytes) -> dict[str, np.ndarray]:
    """Parse a ``.params`` blob into name -> array, in stored order."""
    reader = _Reader(data)
    magic, _reserved = reader.unpack("QQ", "the list header")
    if magic != LIST_MAGIC:
        raise ParamsFormatError(
            f"not a params file: list magic is {magic:#018x}, expected {LIST_MAGIC:#018x}"
        )
    (count,) = reader.unpack("Q", "the name count")
    names = []
    for index in range(count):
        (length,) = reader.unpack("Q", f"the length of name {index}")
        raw = reader.take(length, f"name {index}")
        try:
            names.append(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise ParamsFormatError(f"name {index} is not valid UTF-8: {error}") from None
    (array_count,) = reader.unpack("Q", "the array count")
    if array_count != count:
        raise ParamsFormatError(f"{count} names but {array_count} arrays")
    if len(set(names)) != len(names):
        raise ParamsFormatError("duplicate parameter names")
    params = {name: _read_tensor(reader, name) for name in names}
    if reader.pos != len(data):
        raise ParamsFormatError(f"{len(data) - reader.pos} unexpected bytes after the last array")
    return params


def _read_tensor(reader: _Reader, name: str) -> np.ndarray:
    """Parse one saved NDArray (section 6.2)."""
    magic, _reserved = reader.unpack("QQ", f"the header of array '{name}'")
    if magic != TENSOR_MAGIC:
        raise ParamsFormatError(
            f"array '{name}': tensor magic is {magic:#018x}, expected {TENSOR_MAGIC:#018x}"
        )
    device_type, _device_id, ndim = reader.unpack("iii", f"the device and rank of array '{name}'")
    if device_type != _CPU:
        raise ParamsFormatError(f"array '{name}': device type {device_type}, only CPU (1) is valid")
    if not 0 <= ndim <= _MAX_NDIM:
        raise ParamsFormatError(f"array '{name}': rank {ndim} out of range 0..{_MAX_NDIM}")
    code, bits, lanes = reader.unpack("BBH", f"the dtype of array '{name}'")
    numpy_dtype = _NUMPY_DTYPES.get((code, bits))
    if numpy_dtype is None or lanes != 1:
        raise ParamsFormatError(
            f"array '{name}': unsupported dtype (code {code}, bits {bits}, lanes {lanes})"
        )
    shape = reader.unpack(f"{ndim}q", f"the shape of array '{name}'")
    if any(dim < 0 for dim in shape):
        raise ParamsFormatError(f"array '{name}': negative dimension in shape {list(shape)}")
    (size,) = reader.unpack("q", f"the data size of array '{name}'")
    expected = np.dtype(numpy_dtype).itemsize * int(np.prod(shape, dtype=np.int64))
    if size != expected:
        raise ParamsFormatError(
            f"array '{name}': data size {size} does not match shape {list(shape)} "
            f"({expected} bytes)"
        )
    raw = reader.take(size, f"the data of array '{name}'")
    native = np.dtype(numpy_dtype).newbyteorder("=")
    return np.frombuffer(raw, dtype=numpy_dtype).reshape(shape).astype(native)


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
    header = struct.pack("<QQiiiBBH", TENSOR_MAGIC, 0, _CPU, 0, array.ndim, code, bits, 1)
    return header + struct.pack(f"<{array.ndim}qq", *array.shape, len(data)) + data
