"""Output tensors as files: tensor names never become paths.

A tensor name comes from the model's archive, so it may be anything (``/tmp/x``, ``../../x``).
Each output goes to a file whose name is made of the tensor name's safe characters only, made
unique, inside the chosen directory; ``outputs.json`` there says which file holds which name.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Mapping, Sequence

import numpy as np

from projectapi.errors import ProjectAPIError

INDEX_NAME = "outputs.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_MAX_STEM = 80


class OutputDirError(ProjectAPIError):
    """The output directory cannot be used."""


def _stem(name: str) -> str:
    stem = _UNSAFE.sub("_", name).lstrip(".-_")[:_MAX_STEM]
    return stem or "output"


def output_file_names(names: Sequence[str]) -> dict[str, str]:
    """A distinct, plain file name (``<safe stem>.npy``) for every tensor name."""
    files: dict[str, str] = {}
    taken: set[str] = {INDEX_NAME.lower()}
    for name in names:
        stem = candidate = _stem(name)
        count = 1
        while f"{candidate}.npy".lower() in taken:
            count += 1
            candidate = f"{stem}_{count}"
        files[name] = f"{candidate}.npy"
        taken.add(files[name].lower())
    return files


def check_output_dir(out_dir: pathlib.Path) -> None:
    """Refuse, before any work, a directory that cannot be created or written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputDirError(f"--output {out_dir} exists and is not a directory; name a directory")
    parent = next((p for p in (out_dir, *out_dir.parents) if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise OutputDirError(f"--output {out_dir}: {parent} is not a directory")


def write_outputs(
    out_dir: pathlib.Path, outputs: Mapping[str, np.ndarray]
) -> dict[str, pathlib.Path]:
    """Save every output in ``out_dir`` and the name -> file index; return where each went."""
    check_output_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = output_file_names(list(outputs))
    written = {}
    for name, array in outputs.items():
        written[name] = out_dir / names[name]
        np.save(written[name], array)
    (out_dir / INDEX_NAME).write_text(json.dumps(names, indent=2) + "\n")
    return written
