"""Servers written for TVM, run without TVM: ``tvm.micro.project_api`` offered to child processes.

A Project API server written for TVM imports ``from tvm.micro.project_api import server``. When
no ``tvm`` with that module is importable (none at all, or a TVM after 0.16, which dropped
microTVM), the client puts ``SHIM_DIR`` on the server process's ``PYTHONPATH``
(never on its own import path, never installed as a global ``tvm``): it holds a ``tvm`` package
with only ``tvm.micro.project_api.server``, which is ``microtvm_kit.server``. A real ``tvm`` with
``micro/project_api`` later on the child's import path still wins (the shim steps aside), so a
launcher that runs another Python with such a TVM installed gets TVM.
"""

from __future__ import annotations

import importlib.machinery
import os
import pathlib

import microtvm_kit

SHIM_DIR = pathlib.Path(__file__).resolve().parent / "shim"
# Tells the shim where microtvm_kit is when the server's Python does not have projectapi.
KIT_DIR_VARIABLE = "MICROTVM_KIT_DIR"


def tvm_project_api_importable() -> bool:
    """Whether this interpreter has a real ``tvm`` holding ``tvm.micro.project_api``.

    Looked up on disk without importing ``tvm`` (which takes seconds): TVM releases after 0.16
    install a ``tvm`` without ``micro``, and the shim must still be offered then.
    """
    spec = importlib.machinery.PathFinder.find_spec("tvm")  # the path, not what is imported
    locations = (spec.submodule_search_locations or []) if spec is not None else []
    return any(
        (pathlib.Path(location) / "micro" / "project_api" / "server.py").is_file()
        for location in locations
    )


def server_environment() -> dict[str, str] | None:
    """The environment for a server process: ours plus the shim, or None (inherit ours) with TVM."""
    if tvm_project_api_importable():
        return None
    environment = dict(os.environ)
    paths = [str(SHIM_DIR), *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
    environment["PYTHONPATH"] = os.pathsep.join(paths)
    environment[KIT_DIR_VARIABLE] = str(microtvm_kit.KIT_DIR)
    return environment
