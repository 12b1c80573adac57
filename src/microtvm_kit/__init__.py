"""The project-side code of projectapi: standard library only, Python 3.8+.

This one package is installed with projectapi *and* copied whole into every generated project,
beside the template's ``microtvm_api_server.py``, so its modules have the same name everywhere
(``microtvm_kit.server``, ``microtvm_kit.generate``, ...). It also carries the data the project
side hands to devices: the C runtime (``runtime/``) and the firmware main loops (``c/``).
"""

import pathlib

KIT_DIR = pathlib.Path(__file__).resolve().parent
RUNTIME_DIR = KIT_DIR / "runtime"
FIRMWARE_C_DIR = KIT_DIR / "c"


def is_generated_project(directory: pathlib.Path) -> bool:
    """True for a generated project (it holds a copy of this package), False for a template."""
    return (pathlib.Path(directory) / "microtvm_kit").is_dir()
