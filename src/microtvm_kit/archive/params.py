"""Index of TVM's NDArray-list ``.params`` format (docs/mlf.md, "Parameters file").

``index_params`` checks the whole layout and says where each array's data lies without copying
it; callers build their own views (numpy on the host, a C array in a firmware). All integers are
little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

from ..safe_tar import shown_name
from .errors import ArchiveFormatError

LIST_MAGIC = 0xF7E58D4F05049CB7
TENSOR_MAGIC = 0xDD5E40F096B4A13F
CPU_DEVICE = 1  # TVM saves every tensor as device CPU (DLPack type 1), id 0
# TVM's C runtime refuses more than 6 dimensions by default; 32 only bounds bad input.
_MAX_NDIM = 32


class ParamsFormatError(ArchiveFormatError):
    """A ``.params`` blob does not follow the format."""


@dataclass(frozen=True)
class ParamEntry:
    """One stored array: its name, DLPack type, shape, and where its bytes are in the blob."""

    name: str
    dl_type: Tuple[int, int, int]  # (code, bits, lanes)
    shape: Tuple[int, ...]
    offset: int
    size: int


class _Cursor:
    """Sequential reader that names the field being read when the data runs out."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int, what: str) -> int:
        """Skip ``count`` bytes; return where they start."""
        if count < 0 or self.pos + count > len(self.data):
            raise ParamsFormatError(
                f"params data ends at byte {len(self.data)} while reading {what} "
                f"(needs {count} bytes at byte {self.pos}): truncated file?"
            )
        start, self.pos = self.pos, self.pos + count
        return start

    def unpack(self, fmt: str, what: str) -> Tuple[int, ...]:
        layout = struct.Struct("<" + fmt)
        return layout.unpack_from(self.data, self.take(layout.size, what))


def index_params(
    data: bytes, check_entry: Optional[Callable[[ParamEntry], None]] = None
) -> List[ParamEntry]:
    """Check a ``.params`` blob and list its arrays in stored order.

    ``check_entry`` sees each array as soon as its header is read (a caller refusing a dtype it
    cannot represent does so before later arrays are looked at).
    """
    cursor = _Cursor(data)
    magic, _reserved = cursor.unpack("QQ", "the list header")
    if magic != LIST_MAGIC:
        raise ParamsFormatError(
            f"not a params file: list magic is {magic:#018x}, expected {LIST_MAGIC:#018x}"
        )
    (count,) = cursor.unpack("Q", "the name count")
    names = [_name(cursor, index) for index in range(min(count, len(data)))]
    if count > len(names):
        cursor.take(len(data), "the names")  # more names than bytes: report the truncation
    (array_count,) = cursor.unpack("Q", "the array count")
    if array_count != count:
        raise ParamsFormatError(f"{count} names but {array_count} arrays")
    if len(set(names)) != len(names):
        raise ParamsFormatError("duplicate parameter names")
    entries = []
    for name in names:
        entries.append(_entry(cursor, name))
        if check_entry is not None:
            check_entry(entries[-1])
    if cursor.pos != len(data):
        raise ParamsFormatError(f"{len(data) - cursor.pos} unexpected bytes after the last array")
    return entries


def param_count(data: bytes) -> int:
    """How many arrays a checked blob holds."""
    return len(index_params(data))


def _name(cursor: _Cursor, index: int) -> str:
    (length,) = cursor.unpack("Q", f"the length of name {index}")
    start = cursor.take(length, f"name {index}")
    try:
        return cursor.data[start : start + length].decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParamsFormatError(f"name {index} is not valid UTF-8: {error}") from None


def _entry(cursor: _Cursor, name: str) -> ParamEntry:
    """Check one saved NDArray header and skip its data."""
    magic, _reserved = cursor.unpack("QQ", f"the header of array '{shown_name(name)}'")
    if magic != TENSOR_MAGIC:
        raise ParamsFormatError(
            f"array '{shown_name(name)}': tensor magic is {magic:#018x}, expected {TENSOR_MAGIC:#018x}"
        )
    device_type, _device_id, ndim = cursor.unpack(
        "iii", f"the device and rank of array '{shown_name(name)}'"
    )
    if device_type != CPU_DEVICE:
        raise ParamsFormatError(
            f"array '{shown_name(name)}': device type {device_type}, only CPU (1) is valid"
        )
    if not 0 <= ndim <= _MAX_NDIM:
        raise ParamsFormatError(
            f"array '{shown_name(name)}': rank {ndim} out of range 0..{_MAX_NDIM}"
        )
    dl_type = cursor.unpack("BBH", f"the dtype of array '{shown_name(name)}'")
    shape = cursor.unpack(f"{ndim}q", f"the shape of array '{shown_name(name)}'")
    if any(dim < 0 for dim in shape):
        raise ParamsFormatError(
            f"array '{shown_name(name)}': negative dimension in shape {list(shape)}"
        )
    (size,) = cursor.unpack("q", f"the data size of array '{shown_name(name)}'")
    offset = cursor.take(size, f"the data of array '{shown_name(name)}'")
    return ParamEntry(name, (dl_type[0], dl_type[1], dl_type[2]), shape, offset, size)
