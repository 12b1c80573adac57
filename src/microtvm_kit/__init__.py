"""The project-side code of projectapi: standard library only, Python 3.8+.

This one package is installed with projectapi *and* copied whole into every generated project,
beside the template's ``microtvm_api_server.py``, so its modules have the same name everywhere
(``microtvm_kit.server``, ``microtvm_kit.generate``, ...). It also carries the data the project
side hands to devices: the C runtime (``runtime/``) and the firmware main loops (``c/``).

``KIT_DIR``, ``RUNTIME_DIR`` and ``FIRMWARE_C_DIR`` are made on first use: importing pathlib
costs a server that never needs them a noticeable share of its start-up.
"""

import os

_DATA_DIRS = {"KIT_DIR": "", "RUNTIME_DIR": "runtime", "FIRMWARE_C_DIR": "c"}


def __getattr__(name: str) -> object:
    """``KIT_DIR``, ``RUNTIME_DIR``, ``FIRMWARE_C_DIR``: this package's folders, as Paths."""
    if name not in _DATA_DIRS:
        raise AttributeError("module {!r} has no attribute {!r}".format(__name__, name))
    import pathlib

    kit_dir = pathlib.Path(os.path.dirname(os.path.realpath(__file__)))
    return kit_dir / _DATA_DIRS[name] if _DATA_DIRS[name] else kit_dir


def is_generated_project(directory: "os.PathLike[str] | str") -> bool:
    """True for a generated project (it holds a copy of this package), False for a template."""
    return os.path.isdir(os.path.join(os.fspath(directory), "microtvm_kit"))
