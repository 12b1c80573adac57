"""Shared helpers of the interoperability tests: the TVM-style projects kept beside them."""

from __future__ import annotations

import pathlib
import shutil
import sys

PROJECTS_DIR = pathlib.Path(__file__).resolve().parent / "projects"
# A Python without projectapi installed (the one this virtual environment was made from).
BASE_PYTHON = pathlib.Path(sys.base_prefix, "bin", "python3")


def copy_project(name: str, destination: pathlib.Path) -> pathlib.Path:
    """A fresh copy of ``projects/<name>`` (servers write into their own folder)."""
    return pathlib.Path(shutil.copytree(PROJECTS_DIR / name, destination / name))
