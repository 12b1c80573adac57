"""Runtime trees: projectapi's runtime exported in either layout, and telling trees apart.

Two layouts hold the same components: projectapi's (``include/``, ``src/<component>/``, as in
``microtvm_kit/runtime``) and TVM's standalone one (``include/``,
``src/runtime/crt/<component>/``, which TVM passes templates as ``standalone_crt_dir`` and its
``crt`` template globs). An exported tree carries a marker file naming its origin, so a project
can say which runtime it was built with. Standard library only, Python 3.8+.
"""

from __future__ import annotations

import json
import pathlib
import shutil
from typing import Dict, List, NamedTuple, Optional

from microtvm_kit import RUNTIME_DIR

LAYOUTS = ("tvm", "projectapi")
# The components TVM's crt template builds, in TVM's layout.
TVM_LAYOUT_COMPONENTS = (
    "microtvm_rpc_server",
    "microtvm_rpc_common",
    "aot_executor_module",
    "aot_executor",
    "graph_executor_module",
    "graph_executor",
    "common",
    "memory",
)
MARKER_NAME = "projectapi_runtime.json"
TVM_COMPONENT_BASE = pathlib.PurePosixPath("src", "runtime", "crt")
C_SUFFIXES = (".c",)
CXX_SUFFIXES = (".cc", ".cpp", ".cxx")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "build", ".*")


class RuntimeInfo(NamedTuple):
    """Which runtime a tree holds (``projectapi`` or ``tvm``), in which layout, from where."""

    runtime: str
    layout: str
    source: str

    def describe(self) -> str:
        """One line for a user: whose runtime, which layout, where it came from."""
        name = "projectapi's runtime" if self.runtime == "projectapi" else "TVM's standalone CRT"
        return "{} ({} layout) from {}".format(name, self.layout, self.source)


def layout_of(tree: pathlib.Path) -> str:
    """``tvm`` when components are under ``src/runtime/crt``, else ``projectapi``."""
    return "tvm" if (tree / TVM_COMPONENT_BASE).is_dir() else "projectapi"


def identify(tree: pathlib.Path, source: Optional[str] = None) -> RuntimeInfo:
    """Whose runtime ``tree`` is: its marker says; a tree without one is ours only if packaged."""
    tree = pathlib.Path(tree)
    source = source or str(tree)
    marker = tree / MARKER_NAME
    if marker.is_file():
        return RuntimeInfo("projectapi", layout_of(tree), source)
    if tree.resolve() == RUNTIME_DIR.resolve():
        return RuntimeInfo("projectapi", "projectapi", "the packaged runtime")
    return RuntimeInfo(
        "tvm" if layout_of(tree) == "tvm" else "projectapi", layout_of(tree), source
    )


def component_dir(tree: pathlib.Path, component: str) -> Optional[pathlib.Path]:
    """Where a component's sources are in ``tree`` (either layout), or None."""
    for base in (tree / TVM_COMPONENT_BASE, tree / "src"):
        if (base / component).is_dir():
            return base / component
    return None


def component_sources(directory: pathlib.Path) -> List[pathlib.Path]:
    """The C and C++ sources of one component directory (TVM's RPC server is C++)."""
    suffixes = C_SUFFIXES + CXX_SUFFIXES
    return sorted(path for path in directory.rglob("*") if path.suffix in suffixes)


def components(tree: pathlib.Path) -> List[str]:
    """The components of ``tree`` that have sources, as paths below its component base."""
    base = tree / TVM_COMPONENT_BASE if layout_of(tree) == "tvm" else tree / "src"
    return sorted(
        {
            path.parent.relative_to(base).as_posix()
            for path in base.rglob("*")
            if path.suffix in C_SUFFIXES + CXX_SUFFIXES
        }
    )


def is_cxx(path: str) -> bool:
    """Whether a source file is C++."""
    return pathlib.PurePosixPath(path).suffix in CXX_SUFFIXES


def export(destination: pathlib.Path, layout: str) -> RuntimeInfo:
    """Write projectapi's runtime into ``destination`` (which must not exist) in ``layout``.

    ``tvm``: ``include/``, ``src/runtime/crt/<component>/`` for TVM_LAYOUT_COMPONENTS,
    ``crt_config/crt_config.h`` (the defaults) and a ``Makefile``; ``projectapi``: the packaged
    tree as it is. Both get the marker file.
    """
    if layout not in LAYOUTS:
        raise ValueError("layout must be one of {}, got {!r}".format(", ".join(LAYOUTS), layout))
    destination = pathlib.Path(destination)
    if destination.exists():
        raise FileExistsError("{} already exists; choose a new directory".format(destination))
    staging = destination.with_name(destination.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        if layout == "projectapi":
            shutil.copytree(RUNTIME_DIR, staging, ignore=_IGNORED)
        else:
            _write_tvm_layout(staging)
        (staging / MARKER_NAME).write_text(
            json.dumps({"runtime": "projectapi", "layout": layout}, indent=2) + "\n"
        )
        staging.rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RuntimeInfo("projectapi", layout, str(destination))


def _write_tvm_layout(staging: pathlib.Path) -> None:
    shutil.copytree(RUNTIME_DIR / "include", staging / "include", ignore=_IGNORED)
    for component in TVM_LAYOUT_COMPONENTS:
        shutil.copytree(
            RUNTIME_DIR / "src" / component,
            staging / TVM_COMPONENT_BASE / component,
            ignore=_IGNORED,
        )
    (staging / "crt_config").mkdir()
    shutil.copy2(str(RUNTIME_DIR / "crt_config.h.template"), str(staging / "crt_config" / "crt_config.h"))
    shutil.copy2(str(RUNTIME_DIR / "tvm_layout.mk"), str(staging / "Makefile"))


def source_counts(sources: Dict[str, List[str]]) -> Dict[str, int]:
    """How many C and C++ sources a component listing holds."""
    files = [path for paths in sources.values() for path in paths]
    cxx = sum(1 for path in files if is_cxx(path))
    return {"c": len(files) - cxx, "cxx": cxx}
