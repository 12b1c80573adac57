"""Fixtures shared by every layer's tests."""

from __future__ import annotations

import io
import json
import pathlib
import tarfile

import pytest


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
