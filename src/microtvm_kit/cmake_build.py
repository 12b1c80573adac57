"""Configure and build a CMake project: parallel, incremental, output streamed, errors named.

The first build configures ``build_dir`` (Ninja when installed, else Makefiles); later builds call
the build tool directly, which re-runs CMake itself only when a CMake input changed, so a build
with nothing to do costs one build-tool start. Standard library only, Python 3.8+.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from microtvm_kit import runtime_cache

from .errors import BuildFailedError, ToolchainMissingError

# gcc/clang "file:line:col: error: ...", driver "gcc: error: ...", "fatal error", linker errors,
# and CMake's own "CMake Error" headings, in the order they are preferred as the summary.
_ERROR_PATTERNS = (
    re.compile(r"\b(fatal )?error\b:"),
    re.compile(r"undefined reference to|multiple definition of|ld returned"),
    re.compile(r"^CMake Error"),
)
_SIZE_FIELDS = ("text", "data", "bss")


@dataclass(frozen=True)
class BuildResult:
    """What a successful build produced."""

    executable: str
    sizes: Dict[str, int]
    did_work: bool


def _generator() -> List[str]:
    return ["-G", "Ninja"] if shutil.which("ninja") else ["-G", "Unix Makefiles"]


def _build_command(build_dir: str, verbose: bool) -> List[str]:
    if os.path.isfile(os.path.join(build_dir, "build.ninja")):
        return ["ninja", "-C", build_dir] + (["-v"] if verbose else [])
    jobs = str(os.cpu_count() or 1)
    return ["make", "-C", build_dir, "-j", jobs] + (["VERBOSE=1"] if verbose else [])


def _first_error(lines: Sequence[str]) -> Optional[str]:
    for pattern in _ERROR_PATTERNS:
        for line in lines:
            if pattern.search(line):
                return line.strip()
    return None


def _run_streamed(argv: Sequence[str], what: str) -> List[str]:
    """Run ``argv``, copying its output line by line to stderr; raise BuildFailedError on failure.

    A tool that cannot be started at all (cmake, ninja or make not installed) is
    ToolchainMissingError.
    """
    try:
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as error:
        raise ToolchainMissingError(f"{what}: cannot run {argv[0]}: {error}") from None
    lines = []
    with proc:
        for line in proc.stdout:
            lines.append(line)
            sys.stderr.write(line)
            sys.stderr.flush()
    if proc.returncode != 0:
        first = _first_error(lines) or (lines[-1].strip() if lines else "no output")
        raise BuildFailedError(f"{what} failed: {first} (full output above)")
    return lines


def configure(
    source_dir: str,
    build_dir: str,
    *,
    build_type: str,
    cc: Optional[str] = None,
    cache: Optional[Dict[str, str]] = None,
) -> None:
    """Run CMake once for ``build_dir``; on failure remove it so the next build starts over."""
    argv = ["cmake", "-S", source_dir, "-B", build_dir, *_generator()]
    argv.append("-DCMAKE_BUILD_TYPE=" + ("Debug" if build_type == "debug" else "Release"))
    if cc:
        argv.append("-DCMAKE_C_COMPILER=" + cc)
    argv += [f"-D{key}={value}" for key, value in (cache or {}).items()]
    try:
        _run_streamed(argv, "cmake configure")
    except BuildFailedError:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise


def build(
    source_dir: str,
    build_dir: str,
    target: str,
    *,
    build_type: str = "release",
    cc: Optional[str] = None,
    verbose: bool = False,
    cmake_cache: Optional[Dict[str, str]] = None,
    runtime: Optional[runtime_cache.RuntimeCache] = None,
) -> BuildResult:
    """Configure if needed, build ``target`` (an executable) and report its sizes.

    With ``runtime``, a first configure takes the runtime libraries and the firmware's own
    objects from the cache when it has them (so only the model and its glue are compiled), and
    a build that compiled them stores them there.
    """
    cache_file = os.path.join(build_dir, "CMakeCache.txt")
    if not os.path.isfile(cache_file):
        variables = dict(cmake_cache or {})
        if runtime is not None:
            prebuilt = runtime.restore(pathlib.Path(build_dir))
            for name, path in prebuilt.items():
                print("prebuilt from the cache: {} ({})".format(path, name), file=sys.stderr)
            variables.update(prebuilt)
        configure(source_dir, build_dir, build_type=build_type, cc=cc, cache=variables)
    lines = _run_streamed(_build_command(build_dir, verbose), "build")
    executable = os.path.join(build_dir, target)
    if not os.path.isfile(executable):
        raise BuildFailedError(f"build succeeded but {executable} was not produced")
    did_work = not any("no work to do" in line or "Nothing to be done" in line for line in lines)
    if runtime is not None and did_work:
        runtime.store(pathlib.Path(build_dir))
    return BuildResult(executable, section_sizes(executable), did_work)


def section_sizes(binary: str) -> Dict[str, int]:
    """text/data/bss bytes of ``binary`` from binutils ``size`` (empty if it is unavailable)."""
    try:
        out = subprocess.run(
            ["size", binary], capture_output=True, text=True, check=True, timeout=30
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return {}
    values = out[1].split() if len(out) > 1 else []
    if len(values) < len(_SIZE_FIELDS):
        return {}
    return {field: int(values[i]) for i, field in enumerate(_SIZE_FIELDS)}
