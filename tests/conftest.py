"""Fixtures shared by every layer's tests."""

from __future__ import annotations

import pathlib
import shutil

import pytest
from support.data import MLF_DIR


@pytest.fixture
def mlf(tmp_path: pathlib.Path) -> pathlib.Path:
    """A small valid Model Library Format archive (a copy of a TVM-built one), for templates
    that do not build it; ``create`` validates every archive before a template sees it."""
    path = tmp_path / "model.tar"
    shutil.copyfile(MLF_DIR / "qnn_dense_int8_aot_c.tar", path)
    return path
