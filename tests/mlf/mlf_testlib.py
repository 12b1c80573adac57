"""Test fixtures for the MLF tests: the shared TVM archives and a builder for hand-made tars."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from support.data import MLF_DIR

SHARED_MLF = MLF_DIR
SHARED_ARCHIVES = (
    "mnist_aot_c",
    "mnist_aot_packed",
    "mnist_aot_packed_syslib",
    "mnist_graph",
    "mnist_graph_params",
    "qnn_dense_int8_aot_c",
)


def member(name: str, data: bytes = b"", *, kind: bytes = tarfile.REGTYPE, **attrs: Any) -> tuple:
    """A tar member description for ``write_tar``: (TarInfo, data or None)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write_tar(path: Path, members: Iterable[tuple], *, mode: str = "w") -> Path:
    """Write the given members verbatim (no checks: the point is to make hostile archives)."""
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, data)
    return path


def files_tar(
    path: Path, files: Mapping[str, bytes], *, prefix: str = "./", mode: str = "w"
) -> Path:
    """A tar of regular files with the given name prefix."""
    return write_tar(path, [member(prefix + name, data) for name, data in files.items()], mode=mode)


def shared_files(name: str) -> dict[str, bytes]:
    """Every regular file of a shared archive, by name without ``./``."""
    with tarfile.open(SHARED_MLF / f"{name}.tar") as tar:
        return {
            info.name.removeprefix("./"): tar.extractfile(info).read()
            for info in tar.getmembers()
            if info.isreg()
        }


def metadata_of(files: Mapping[str, bytes]) -> dict[str, Any]:
    return json.loads(files["metadata.json"])


def with_metadata(files: Mapping[str, bytes], metadata: Mapping[str, Any]) -> dict[str, bytes]:
    return {**files, "metadata.json": json.dumps(metadata).encode()}


def reference_io(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The shared archive's reference input and output arrays."""
    return np.load(SHARED_MLF / f"{name}.input.npy"), np.load(SHARED_MLF / f"{name}.output.npy")
