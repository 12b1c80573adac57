"""``tvm.micro.project_api.server`` for servers written for TVM: projectapi's server module.

Every name of ``microtvm_kit.server`` (handler base class, ServerInfo, ProjectOption,
TransportTimeouts, errors, I/O helpers), with ``main`` serving the handler under TVM's calling
conventions (``microtvm_kit.tvm_handler``). Standard library only, Python 3.8+.
"""

import importlib
import importlib.util
import os
import sys

KIT_DIR_VARIABLE = "MICROTVM_KIT_DIR"


def _load_kit() -> None:
    """Import ``microtvm_kit`` from the directory the client named, for a Python without it."""
    kit_dir = os.environ.get(KIT_DIR_VARIABLE, "")
    init = os.path.join(kit_dir, "__init__.py")
    if not kit_dir or not os.path.isfile(init):
        raise ImportError(
            "tvm.micro.project_api.server needs projectapi's microtvm_kit: install projectapi for "
            "this Python, or launch the server with projectapi's client (which sets %s)"
            % KIT_DIR_VARIABLE
        )
    spec = importlib.util.spec_from_file_location(
        "microtvm_kit", init, submodule_search_locations=[kit_dir]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["microtvm_kit"] = module
    spec.loader.exec_module(module)


def _import_kit(name: str) -> object:
    """``microtvm_kit.<name>``, from this Python's packages or from the client's."""
    try:
        return importlib.import_module("microtvm_kit." + name)
    except ImportError:
        if "microtvm_kit" in sys.modules:
            raise
        _load_kit()
        return importlib.import_module("microtvm_kit." + name)


globals().update(
    {key: value for key, value in vars(_import_kit("server")).items() if not key.startswith("__")}
)
main = _import_kit("tvm_handler").main
