"""Shared helpers of the interoperability tests: the TVM-style projects kept beside them."""

from __future__ import annotations

import pathlib
import shutil
import sys

from microtvm_kit import runtime_tree

PROJECTS_DIR = pathlib.Path(__file__).resolve().parent / "projects"
# A Python without projectapi installed (the one this virtual environment was made from).
BASE_PYTHON = pathlib.Path(sys.base_prefix, "bin", "python3")


def copy_project(name: str, destination: pathlib.Path) -> pathlib.Path:
    """A fresh copy of ``projects/<name>`` (servers write into their own folder)."""
    return pathlib.Path(shutil.copytree(PROJECTS_DIR / name, destination / name))


def tvm_layout_runtime(destination: pathlib.Path, *, marker: bool) -> pathlib.Path:
    """projectapi's runtime in TVM's layout (``runtime export --layout tvm``) whose CRC is C++.

    Without ``marker`` the tree looks like TVM's own (no projectapi marker file).
    """
    runtime_tree.export(destination, "tvm")
    common = destination / runtime_tree.TVM_COMPONENT_BASE / "microtvm_rpc_common"
    (common / "crc16.c").unlink()
    shutil.copy2(PROJECTS_DIR / "cxx" / "crc16.cc", common / "crc16.cc")
    if not marker:
        (destination / runtime_tree.MARKER_NAME).unlink()
    return destination
