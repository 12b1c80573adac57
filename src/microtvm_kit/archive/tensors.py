"""A model input or output with a known type and shape: the one tensor description."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Tuple

from .dtypes import parse_dtype, tensor_bytes


@dataclass(frozen=True)
class TensorSpec:
    """A named dense tensor: dtype name (``float32``...) and shape."""

    name: str
    dtype: str
    shape: Tuple[int, ...]

    @property
    def size_bytes(self) -> int:
        """Bytes of the tensor's data."""
        return tensor_bytes(self.dtype, self.shape)

    @property
    def dl_dtype(self) -> Tuple[int, int, int]:
        """(code, bits, lanes) of the tensor's DLPack data type."""
        return parse_dtype(self.dtype)

    @property
    def c_name(self) -> str:
        """The member name TVM uses in the C interface structs (every non-alphanumeric -> _)."""
        return re.sub(r"[^0-9A-Za-z]", "_", self.name)
