"""A model's inputs and outputs as laid out on the link, and the one check of user inputs.

Every way of running a model (``projectapi.run``, the standalone link protocol) checks its inputs
here, so each mistake gets the same message everywhere: wrong dtype, wrong shape (a reshape is
done only when asked for), a file that is not a ``.npy`` array, an unknown or missing name.
"""

from __future__ import annotations

import math
import pathlib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from projectapi import mlf
from projectapi.errors import ProjectAPIError

_NPY_MAGIC = b"\x93NUMPY"


class InputError(ProjectAPIError):
    """A model input is missing, unknown, unreadable, or of the wrong dtype or shape."""


@dataclass(frozen=True)
class TensorLayout:
    """Name, dtype and shape of one model input or output."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        """Bytes of the tensor on the link."""
        return math.prod(self.shape) * self.dtype.itemsize


def _layout(tensor: mlf.TensorInfo) -> TensorLayout:
    if tensor.dtype is None or tensor.size_bytes is None:
        raise InputError(f"the model's metadata gives no dtype or size for {tensor.name}")
    dtype = np.dtype(tensor.dtype)
    return TensorLayout(tensor.name, dtype, tensor.shape or (tensor.size_bytes // dtype.itemsize,))


def model_layouts(model: mlf.Model) -> tuple[list[TensorLayout], list[TensorLayout]]:
    """Input and output layouts of an MLF model; tensors of unknown shape become 1-D."""
    return [_layout(t) for t in model.inputs], [_layout(t) for t in model.outputs]


def check_input(
    layout: TensorLayout, value: object, *, reshape: bool = False, source: str = "the value"
) -> np.ndarray:
    """``value`` as an array of ``layout``'s dtype and shape, or InputError naming the mismatch.

    With ``reshape`` an array holding the same number of elements takes the layout's shape;
    without it only the exact shape is accepted. ``source`` says where the value came from.
    """
    array = np.asarray(value)
    if array.dtype != layout.dtype:
        raise InputError(
            f"input {layout.name} must be {layout.dtype}; {source} holds {array.dtype}"
        )
    if array.shape == layout.shape:
        return array
    if array.size == math.prod(layout.shape):
        if reshape:
            return array.reshape(layout.shape)
        raise InputError(
            f"input {layout.name} has shape {list(layout.shape)}; {source} holds shape "
            f"{list(array.shape)} (same number of values: reshape it, or pass --reshape)"
        )
    raise InputError(
        f"input {layout.name} has shape {list(layout.shape)}; {source} holds shape "
        f"{list(array.shape)}"
    )


def read_npy(path: pathlib.Path, what: str) -> np.ndarray:
    """One array from a ``.npy`` file, or InputError saying what the file is instead."""
    try:
        with open(path, "rb") as file:
            head = file.read(len(_NPY_MAGIC))
    except OSError as error:
        raise InputError(f"cannot read {what} from {path}: {error.strerror or error}") from None
    if head != _NPY_MAGIC:
        kind = "an .npz archive" if zipfile.is_zipfile(path) else "not a .npy file"
        raise InputError(
            f"{what}: {path} is {kind}; give one array saved with numpy.save (a .npy file)"
        )
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {what} from {path}: {error}") from None


def random_input(layout: TensorLayout, rng: np.random.Generator) -> np.ndarray:
    """Uniform random values for ``layout``: [0, 1) for floats, the full range for integers."""
    if layout.dtype.kind == "f":
        return rng.random(layout.shape).astype(layout.dtype)
    info = np.iinfo(layout.dtype)
    return rng.integers(info.min, info.max, size=layout.shape, endpoint=True, dtype=layout.dtype)


def check_names(layouts: Sequence[TensorLayout], names: Sequence[str]) -> None:
    """Refuse a name the model has no input of."""
    known = {layout.name for layout in layouts}
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(layout.name for layout in layouts)
        raise InputError(f"the model has no input {unknown[0]!r}; its inputs are: {listed}")


def check_inputs(
    layouts: Sequence[TensorLayout], values: Mapping[str, object], *, reshape: bool = False
) -> dict[str, np.ndarray]:
    """Every input, by name and in model order, checked against its layout."""
    check_names(layouts, list(values))
    missing = [layout.name for layout in layouts if layout.name not in values]
    if missing:
        raise InputError(f"no value for input {missing[0]!r}")
    return {
        layout.name: check_input(layout, values[layout.name], reshape=reshape) for layout in layouts
    }
