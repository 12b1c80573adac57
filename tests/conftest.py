"""Fixtures shared by every layer's tests."""

from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import Iterator

import pytest
from support.data import MLF_DIR

from microtvm_kit import runtime_cache


@pytest.fixture
def mlf(tmp_path: pathlib.Path) -> pathlib.Path:
    """A small valid Model Library Format archive (a copy of a TVM-built one), for templates
    that do not build it; ``create`` validates every archive before a template sees it."""
    path = tmp_path / "model.tar"
    shutil.copyfile(MLF_DIR / "qnn_dense_int8_aot_c.tar", path)
    return path


@pytest.fixture(autouse=True, scope="session")
def build_cache(tmp_path_factory) -> Iterator[pathlib.Path]:
    """A build cache of this test session's own (never the user's), shared by its builds."""
    path = tmp_path_factory.mktemp("build-cache")
    previous = os.environ.get(runtime_cache.ENV_VAR)
    os.environ[runtime_cache.ENV_VAR] = str(path)
    yield path
    if previous is None:
        del os.environ[runtime_cache.ENV_VAR]
    else:
        os.environ[runtime_cache.ENV_VAR] = previous
