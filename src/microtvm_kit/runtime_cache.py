"""Build once, link many: the parts of a firmware build that do not depend on the model, cached.

Every generated project carries the whole runtime and the firmware's own sources. Two parts of
its build depend only on the template, board, compiler, flags and those sources: the runtime's
libraries (``libcrt_<component>.a``) and the objects of the firmware's own sources (main loop,
port, start-up code: everything but the model and its glue). The first project built with a
configuration stores each part in a user cache; the next ones copy them in and compile only the
model and its glue, then link. Each key hashes all inputs of its part: a change of any misses.

Where: ``$PROJECTAPI_CACHE_DIR`` (``off`` disables the cache), else ``$XDG_CACHE_HOME/projectapi``,
else ``~/.cache/projectapi``; entries in ``<part>/<key>/``. Entries appear whole (written
beside, then renamed into place, under a lock file), so concurrent builders are safe.
Standard library only, Python 3.8+.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

ENV_VAR = "PROJECTAPI_CACHE_DIR"
DISABLED = "off"
PREBUILT_DIR = "prebuilt"  # in the build directory: what was copied from the cache, per part
_COMPLETE = "complete"


class Part(NamedTuple):
    """One cached part of a firmware build: what it is compiled from and what it leaves."""

    name: str
    cmake_variable: str  # the CMake variable naming the directory it is taken from
    key_lines: Tuple[str, ...]  # config.cmake lines (by prefix) that shape it
    key_paths: Tuple[str, ...]  # project files or folders that shape it
    outputs: str  # glob, relative to the build directory, of what the build leaves


RUNTIME = Part(
    "runtime",
    "PROJECTAPI_CRT_PREBUILT_DIR",
    ("set(PROJECTAPI_C_FLAGS", "set(PROJECTAPI_CRT_", "set(PROJECTAPI_WERROR"),
    ("c/firmware.cmake", "crt_config/crt_config.h", "toolchain.cmake", "runtime"),
    "libcrt_*.a",
)
FIRMWARE_KIT = Part(
    "firmware_kit",
    "PROJECTAPI_KIT_PREBUILT_DIR",
    (*RUNTIME.key_lines, "set(PROJECTAPI_DEFINITIONS", "set(PROJECTAPI_KIT_SOURCES"),
    ("c", "src", "firmware", "glue/model_glue.h", "crt_config", "toolchain.cmake", "runtime/include"),
    "CMakeFiles/projectapi_kit.dir/**/*.o*",  # .o, or .obj for bare-metal targets
)
PARTS = (RUNTIME, FIRMWARE_KIT)


def cache_root() -> Optional[pathlib.Path]:
    """The cache directory, or None when the cache is disabled."""
    given = os.environ.get(ENV_VAR)
    if given == DISABLED:
        return None
    if given:
        return pathlib.Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "projectapi"


def compiler_identity(compiler: str) -> str:
    """The compiler's resolved path and version line (its name alone if it cannot be run)."""
    path = shutil.which(compiler) or compiler
    try:
        version = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        version = []
    return "{} {}".format(os.path.realpath(path), version[0] if version else "")


def _files(project_dir: pathlib.Path, paths: Sequence[str]) -> List[pathlib.Path]:
    """The files at or under ``paths`` (those that exist), sorted."""
    found = set()
    for name in paths:
        path = project_dir / name
        found.update([path] if path.is_file() else (p for p in path.rglob("*") if p.is_file()))
    return sorted(found)


def _key_inputs(project_dir: pathlib.Path, part: Part) -> Iterator[bytes]:
    """What ``part`` of ``project_dir``'s build is compiled from, as bytes."""
    config = (project_dir / "config.cmake").read_text()
    lines = [line for line in config.splitlines() if line.startswith(part.key_lines)]
    yield "\n".join(lines).encode()
    for path in _files(project_dir, part.key_paths):
        yield path.relative_to(project_dir).as_posix().encode()
        yield path.read_bytes()


def cache_key(project_dir: pathlib.Path, part: Part, identity: Sequence[str]) -> str:
    """The key of a part of a project's build: ``identity`` (template, board, compiler, build
    type), the part's name, flags and definitions in ``config.cmake``, and its sources."""
    digest = hashlib.sha256()
    parts = [item.encode() for item in (*identity, part.name)]
    for piece in parts + list(_key_inputs(project_dir, part)):
        digest.update(len(piece).to_bytes(8, "little"))
        digest.update(piece)
    return digest.hexdigest()[:32]


class RuntimeCache:
    """The cache entries for one project's build configuration (keys computed when first used)."""

    def __init__(
        self, root: pathlib.Path, project_dir: pathlib.Path, identity: Sequence[str], compiler: str
    ) -> None:
        """The entries under ``root`` for ``project_dir`` built with ``compiler``; ``identity``
        names the rest of the configuration (template, board, build type)."""
        self._root = root
        self._project_dir = project_dir
        self._identity = list(identity)
        self._compiler = compiler

    @classmethod
    def for_project(
        cls, project_dir: pathlib.Path, identity: Sequence[str], compiler: str
    ) -> Optional["RuntimeCache"]:
        """The entries for a project's configuration, or None when the cache is disabled."""
        root = cache_root()
        return None if root is None else cls(root, project_dir, identity, compiler)

    @functools.cached_property
    def _full_identity(self) -> List[str]:
        return [*self._identity, compiler_identity(self._compiler)]

    def entry(self, part: Part) -> pathlib.Path:
        """The directory of ``part``'s entry."""
        return self._root / part.name / cache_key(self._project_dir, part, self._full_identity)

    def restore(self, build_dir: pathlib.Path) -> Dict[str, str]:
        """Copy every cached part into ``build_dir``; return CMake variables naming them."""
        variables = {}
        for part in PARTS:
            entry = self.entry(part)
            if not (entry / _COMPLETE).is_file():
                continue
            target = build_dir / PREBUILT_DIR / part.name
            shutil.rmtree(str(target), ignore_errors=True)
            shutil.copytree(str(entry), str(target))
            variables[part.cmake_variable] = str(target)
        return variables

    def store(self, build_dir: pathlib.Path) -> None:
        """Keep each part ``build_dir`` compiled itself, unless its entry exists already."""
        for part in PARTS:
            outputs = sorted(build_dir.glob(part.outputs))
            entry = self.entry(part)
            if outputs and not (entry / _COMPLETE).is_file():
                _store(entry, {_flat_name(path, build_dir): path for path in outputs})


def _flat_name(path: pathlib.Path, build_dir: pathlib.Path) -> str:
    """A file name for an output (its folders inside the target's folder joined by '__')."""
    relative = path.relative_to(build_dir).parts
    return "__".join(relative[2:] if relative[0] == "CMakeFiles" else relative)


def _store(entry: pathlib.Path, files: Dict[str, pathlib.Path]) -> None:
    """Create ``entry`` holding ``files`` (name -> source), whole or not at all."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    with _locked(entry.parent / (entry.name + ".lock")):
        if (entry / _COMPLETE).is_file():
            return
        staging = pathlib.Path(tempfile.mkdtemp(dir=str(entry.parent), prefix=".new-"))
        try:
            for name, source in files.items():
                shutil.copy2(str(source), str(staging / name))
            (staging / _COMPLETE).write_text("\n".join(sorted(files)) + "\n")
            shutil.rmtree(str(entry), ignore_errors=True)  # an incomplete leftover
            os.rename(str(staging), str(entry))
        except BaseException:
            shutil.rmtree(str(staging), ignore_errors=True)
            raise


@contextlib.contextmanager
def _locked(path: pathlib.Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` for a ``with`` block (waits for other holders)."""
    fd = os.open(str(path), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
