"""The host template: TVM AOT and graph models built with gcc and cmake into a POSIX program.

Project types: ``aot_standalone`` (the program runs the model on request, over the standalone
link protocol on its stdin/stdout, or directly with ``--input``/``--output``/``--repeat``) and
``host_driven`` (the program is a microTVM device: its stdin/stdout carry the RPC session).
generate_library writes a CMake package around a static archive for this machine (docs/library.md).
generate_project copies this server, ``server.py``, the ``microtvm_kit`` package, the MLF
(``model.tar``, extracted to ``model/``), the runtime, the sources and a CMake project.
"""

import os
import pathlib
from typing import Any, Dict, List, Optional

from microtvm_kit import firmware_template as kit
from microtvm_kit import library, process_transport, server

_HERE = pathlib.Path(__file__).resolve().parent

_BUILD_DIR = "build"
_PROGRAM = "main"
# Sources of the program per project type besides the shared loop and the glue.
_PROGRAM_SOURCES = {
    "aot_standalone": ["src/main_standalone.c", "src/port_posix.c", "src/npy_io.c"],
    "host_driven": ["src/main_host_driven.c", "src/port_posix.c"],
}
# Memory the POSIX platform hands out through TVMPlatformMemoryAllocate (TVM's host default).
_DEFAULT_WORKSPACE_BYTES = 2 * 1024 * 1024

_OPTIONS = kit.project_options(
    {
        "workspace_size_bytes": {
            "default": _DEFAULT_WORKSPACE_BYTES,
            "help": "Bytes of memory the runtime platform may allocate (workspaces, RPC "
            "buffers, executor tensors).",
        }
    },
    [
        server.ProjectOption(
            "build_type",
            choices=["release", "debug"],
            default="release",
            type="str",
            optional=kit.GENERATE_BOTH,
            help="release: -O2; debug: -O0 -g.",
        ),
        *(
            server.ProjectOption(
                name, type="str", default="", optional=kit.GENERATE_BOTH, help=description
            )
            for name, description in (
                ("cc", "C compiler to use instead of CMake's default."),
                ("cflags", "Extra C compiler flags for every source."),
            )
        ),
        *library.LIBRARY_OPTIONS,
    ],
)


class HostHandler(library.LibraryTemplate):
    """Serve the host template or a project generated from it."""

    PLATFORM = "host"
    TEMPLATE_DIR = _HERE
    OPTIONS = _OPTIONS
    RUN_FILES = (*kit.SERVER_FILES, _BUILD_DIR + "/" + _PROGRAM)
    STARTUP_FILES = kit.STARTUP_FILES

    def __init__(self) -> None:
        """Start with no child process."""
        super().__init__()
        self._transport = process_transport.ProcessTransport(
            [str(_HERE / _BUILD_DIR / _PROGRAM)], cwd=str(_HERE)
        )

    def platform_components(self) -> List[str]:
        """The POSIX platform of the runtime."""
        return ["platform/posix"]

    def library_platform(self, settings: Dict[str, Any]) -> List[str]:
        """A library for this machine uses the POSIX platform too."""
        return self.platform_components()

    def library_link_libraries(self) -> List[str]:
        """Generated model code calls the C math library."""
        return ["m"]

    def write_sources(self, settings: Dict[str, Any], stage: pathlib.Path) -> List[str]:
        """Copy the CMake project and the program's sources."""
        (stage / "CMakeLists.txt").write_bytes((_HERE / "CMakeLists.txt").read_bytes())
        (stage / "src").mkdir()
        for path in (_HERE / "src").iterdir():
            (stage / "src" / path.name).write_bytes(path.read_bytes())
        return list(_PROGRAM_SOURCES[settings["project_type"]])

    def cmake_lines(self, settings: Dict[str, Any]) -> List[str]:
        """The user's extra C flags."""
        return ["set(PROJECTAPI_C_FLAGS {})".format(kit.cmake_quote(settings["cflags"]))]

    def build(self, options: Dict[str, Any]) -> Dict[str, int]:
        """Build the program incrementally; return (and log) its section sizes."""
        from microtvm_kit import cmake_build, runtime_cache

        settings = self.settings()
        compiler = settings["cc"] or os.environ.get("CC") or "cc"  # as CMake chooses it
        result = cmake_build.build(
            str(_HERE),
            str(_HERE / _BUILD_DIR),
            _PROGRAM,
            build_type=settings["build_type"],
            cc=settings["cc"] or None,
            verbose=bool(options.get("verbose")),
            runtime=runtime_cache.RuntimeCache.for_project(
                _HERE, [self.PLATFORM, settings["build_type"]], compiler
            ),
        )
        sizes = " ".join("{}={}".format(k, v) for k, v in result.sizes.items())
        self.log("built {} ({})".format(result.executable, sizes or "sizes unavailable"))
        return dict(result.sizes)

    def flash(self, options: Dict[str, Any]) -> None:
        """Nothing to flash: the program runs in place on this machine."""
        self.log("nothing to flash: host programs run in place (open_transport starts them)")

    def open_transport(self, options: Dict[str, Any]) -> server.TransportTimeouts:
        """Start the built program as a child whose stdin/stdout are the transport."""
        self.settings()
        if not (_HERE / _BUILD_DIR / _PROGRAM).is_file():
            raise server.NotBuiltError("the project is not built yet: run build first")
        self._transport.close()
        self._transport.open()
        return kit.SESSION_TIMEOUTS

    def close_transport(self) -> None:
        """Stop and reap the child; closing a closed transport does nothing."""
        self._transport.close()

    def read_transport(self, n: int, timeout_sec: Optional[float]) -> bytes:
        """Return 1 to ``n`` bytes from the program, waiting at most ``timeout_sec``."""
        return self._transport.read(n, timeout_sec)

    def write_transport(self, data: bytes, timeout_sec: Optional[float]) -> None:
        """Send ``data`` to the program, waiting at most ``timeout_sec``."""
        self._transport.write(data, timeout_sec)


if __name__ == "__main__":
    server.main(HostHandler())
