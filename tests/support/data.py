"""The one place that locates the test data kept in ``tests/data`` (see its README.md)."""

from __future__ import annotations

import pathlib

DATA_DIR = pathlib.Path(__file__).resolve().parents[1] / "data"


def data_path(*parts: str) -> pathlib.Path:
    """A file or folder under ``tests/data``; raises if it is missing, so no test skips on it."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"test data {path} is missing: it is part of the repository (tests/data/README.md)"
        )
    return path


MLF_DIR = data_path("mlf")
TRANSCRIPT_DIR = data_path("transcripts")
MODELS_DIR = data_path("models")
