"""Stand-in for TVM holding only ``tvm.micro.project_api``, for servers written for TVM.

Put on a server's PYTHONPATH by projectapi's client when no TVM with microTVM is importable. If a
real ``tvm`` holding ``micro/project_api`` is found further along the import path anyway, it is
loaded in this module's place; a TVM without it (after 0.16) is not.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _load_real_tvm() -> None:
    """Replace this stand-in with a real ``tvm`` with microTVM found elsewhere, if any."""
    shim_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    others = [entry for entry in sys.path if os.path.abspath(entry or ".") != shim_dir]
    spec = importlib.machinery.PathFinder.find_spec(__name__, others)
    if spec is None or spec.loader is None:
        return
    if not any(
        os.path.isfile(os.path.join(location, "micro", "project_api", "server.py"))
        for location in spec.submodule_search_locations or []
    ):
        return  # a TVM without microTVM: keep the stand-in
    module = importlib.util.module_from_spec(spec)
    sys.modules[__name__] = module
    spec.loader.exec_module(module)


_load_real_tvm()
