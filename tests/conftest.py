"""Fixtures shared by every layer's tests."""

from __future__ import annotations

import io
import json
import os
import pathlib
import tarfile
from collections.abc import Iterator

import pytest

from microtvm_kit import runtime_cache


@pytest.fixture
def mlf(tmp_path: pathlib.Path) -> pathlib.Path:
    """A tiny tar archive standing in for a Model Library Format archive (echo-like templates
    only copy it)."""
    path = tmp_path / "model.tar"
    payload = json.dumps({"version": 7}).encode()
    with tarfile.open(path, "w") as archive:
        member = tarfile.TarInfo("metadata.json")
        member.size = len(payload)
        archive.addfile(member, io.BytesIO(payload))
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
