"""Stand-in for TVM holding only ``tvm.micro.project_api``, for servers written for TVM.

Put on a server's PYTHONPATH by projectapi's client when no TVM is importable. If a real ``tvm``
is found further along the import path anyway, it is loaded in this module's place.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _load_real_tvm() -> None:
    """Replace this stand-in with a real ``tvm`` found elsewhere on the import path, if any."""
    shim_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    others = [entry for entry in sys.path if os.path.abspath(entry or ".") != shim_dir]
    spec = importlib.machinery.PathFinder.find_spec(__name__, others)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[__name__] = module
    spec.loader.exec_module(module)


_load_real_tvm()
