"""The QEMU template: TVM AOT models as bare-metal firmware for emulated Cortex-M and RISC-V boards.

Boards are data (``boards.json``). generate_project writes a firmware project: start-up code and
drivers for the board, the linker script from its memory map, the runtime, the model and its glue,
and a CMake project cross-compiling it all. build links the image and checks it against the
board's flash and RAM limits. flash only checks that image and emulator are ready: QEMU is
started by open_transport and held (``wait=on``) until the transport has connected to the UART;
close_transport stops it. Project types as on the host template: ``aot_standalone`` (standalone
link protocol on the UART) and ``host_driven`` (the microTVM RPC server on the UART).
"""

import json
import pathlib
import shlex
import shutil
import sys
from typing import Any, Dict, List, Optional

_HERE = pathlib.Path(__file__).resolve().parent
if not (_HERE / "server.py").is_file():  # the template folder inside the projectapi package
    sys.path[:0] = [str(_HERE.parent.parent), str(_HERE.parent)]
import boards  # noqa: E402
import firmware_report  # noqa: E402
import qemu_transport  # noqa: E402
import server  # noqa: E402
from microtvm_kit import cmake_build, generate, model_glue, staging  # noqa: E402

_IS_TEMPLATE = not (_HERE / "server.py").is_file()
_MLF_NAME = "model.tar"
_SETTINGS_NAME = "project.json"  # the generate-time options a generated project keeps
_REPORT_NAME = "memory_report.json"  # the last build's memory use, for tools and benchmarks
_BUILD_DIR = "build"
_IMAGE = "firmware.elf"
# Files of this template that a generated project needs beside its server.
_TEMPLATE_MODULES = ("boards.py", "boards.json", "firmware_report.py", "qemu_transport.py")
_SHARED_C_DIR = _HERE.parent / "c"
_BOARDS = boards.load_boards(_HERE / "boards.json")

_PROJECT_TYPES = ("aot_standalone", "host_driven")
_BASE_COMPONENTS = ["common", "memory"]
_RPC_COMPONENTS = [
    "microtvm_rpc_server",
    "microtvm_rpc_common",
    "aot_executor_module",
    "aot_executor",
]
# Per project type: the shared main loop, and the main loop function firmware/main.c calls.
_LOOPS = {
    "aot_standalone": ("c/standalone_loop.c", "projectapi_standalone_serve"),
    "host_driven": ("c/host_driven_loop.c", "projectapi_host_driven_serve"),
}
_FIRMWARE_SOURCES = ["firmware/main.c", "firmware/port_board.c", "firmware/platform_board.c"]
# Default pool for TVMPlatformMemoryAllocate: room for the page allocator's bookkeeping and,
# host-driven, the arrays the host allocates, plus the model's workspace when its code allocates
# it at run time (TVMBackendAllocWorkspace) rather than declaring it statically.
_WORKSPACE_MARGIN_BYTES = 16 * 1024
_MIN_WORKSPACE_BYTES = 1024
_STACK_BYTES = 16 * 1024

_GENERATE = ["generate_project"]
_OPTIONS = [
    server.ProjectOption(
        "board",
        choices=sorted(_BOARDS),
        type="str",
        required=_GENERATE,
        help="Board to build for: "
        + "; ".join("{} ({})".format(name, b.description) for name, b in sorted(_BOARDS.items())),
    ),
    server.ProjectOption(
        "project_type",
        choices=list(_PROJECT_TYPES),
        default="aot_standalone",
        type="str",
        optional=_GENERATE,
        help="aot_standalone: the firmware runs the model on request over the "
        "standalone link protocol; host_driven: it is a microTVM RPC "
        "device.",
    ),
    server.ProjectOption(
        "verbose",
        type="bool",
        default=False,
        optional=["build", "open_transport"],
        help="Show the full compiler command lines; report QEMU's command.",
    ),
    server.ProjectOption(
        "workspace_size_bytes",
        type="int",
        optional=_GENERATE,
        help="Bytes of the firmware's memory pool for the runtime (default: "
        "{} KiB, plus the model's workspace when its code allocates it "
        "at run time).".format(_WORKSPACE_MARGIN_BYTES // 1024),
    ),
    server.ProjectOption(
        "compile_definitions",
        type="str",
        default="",
        optional=_GENERATE,
        help="Extra preprocessor definitions, e.g. '-DFOO=1 -DBAR'.",
    ),
    server.ProjectOption(
        "extra_files_tar",
        type="str",
        default="",
        optional=_GENERATE,
        help="A tar archive whose files are added to the project.",
    ),
    server.ProjectOption(
        "warning_as_error",
        type="bool",
        default=False,
        optional=_GENERATE,
        help="Build with -Werror (known diagnostics of generated code excepted).",
    ),
    server.ProjectOption(
        "icount",
        type="bool",
        optional=["generate_project", "open_transport"],
        help="Run QEMU with -icount shift=0: one instruction per virtual nanosecond, so "
        "on-device times are instruction counts, repeatable to one timer tick (default: "
        "off; given to open_transport it overrides the project's setting).",
    ),
    server.ProjectOption(
        "gdbserver_port",
        type="int",
        optional=["generate_project", "open_transport"],
        help="Start QEMU's gdb server on this TCP port, with the CPU halted until the "
        "debugger continues it (given to open_transport it overrides the project's setting).",
    ),
]
_DEFAULTS = {option.name: option.default for option in _OPTIONS}

# Session timeouts for host_driven. QEMU answers a session start within milliseconds, so a start
# attempt without reply is retried after 2 s and abandoned after 10 s. The emulated UART moves
# about 20 KiB/s and a model runs for up to seconds under -icount: an established session allows
# 60 s per reply.
_TIMEOUTS = server.TransportTimeouts(
    session_start_retry_timeout_sec=2.0,
    session_start_timeout_sec=10.0,
    session_established_timeout_sec=60.0,
)


def _cmake_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped + '"'


def _cmake_set(name: str, items: List[str]) -> str:
    return "set({} {})".format(name, " ".join(_cmake_quote(item) for item in items))


def _user_definitions(text: str) -> List[str]:
    """``compile_definitions`` (``-DX=1 Y``) as NAME[=VALUE] items."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise ValueError("compile_definitions cannot be parsed: {}".format(error)) from None
    items = [word[2:] if word.startswith("-D") else word for word in words]
    if any(not item or item.startswith("-") for item in items):
        raise ValueError(
            "compile_definitions must be words like -DNAME or -DNAME=VALUE, got {!r}".format(text)
        )
    return items


def _checked_options(options: Dict[str, Any]) -> Dict[str, Any]:
    """Defaults filled in (without touching the caller's dict) and values checked."""
    merged = dict(_DEFAULTS)
    merged.update({key: value for key, value in options.items() if value is not None})
    if merged.get("board") not in _BOARDS:
        raise ValueError(
            "board must be one of {}, got {!r}".format(
                ", ".join(sorted(_BOARDS)), merged.get("board")
            )
        )
    if merged["project_type"] not in _PROJECT_TYPES:
        raise ValueError(
            "project_type must be one of {}, got {!r}".format(
                ", ".join(_PROJECT_TYPES), merged["project_type"]
            )
        )
    workspace = merged.get("workspace_size_bytes")
    if workspace is not None and workspace < _MIN_WORKSPACE_BYTES:
        raise ValueError(
            "workspace_size_bytes must be at least {}, got {}".format(
                _MIN_WORKSPACE_BYTES, workspace
            )
        )
    _check_port(merged.get("gdbserver_port"))
    _user_definitions(merged["compile_definitions"])
    return merged


def _check_port(port: Optional[int]) -> None:
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("gdbserver_port must be a TCP port from 1 to 65535, got {}".format(port))


def _session_option(options: Dict[str, Any], settings: Dict[str, Any], name: str) -> Any:
    """An open_transport option: as given, else as given at generate time (else None)."""
    value = options.get(name)
    return settings.get(name) if value is None else value


def _default_workspace(model: model_glue.ModelInfo) -> int:
    """The pool size when workspace_size_bytes is not given (see _WORKSPACE_MARGIN_BYTES)."""
    dynamic = any("TVMBackendAllocWorkspace" in src.read_text() for src in model.sources)
    return _WORKSPACE_MARGIN_BYTES + (model.workspace_size_bytes if dynamic else 0)


def _config_cmake(
    settings: Dict[str, Any],
    board: boards.Board,
    model: model_glue.ModelInfo,
    glue: List[pathlib.Path],
    crt_sources: Dict[str, List[str]],
    project_dir: pathlib.Path,
) -> str:
    """The generated half of the CMake project: source lists, flags and definitions."""
    project_type = settings["project_type"]
    loop, serve = _LOOPS[project_type]
    glue_names = [p.relative_to(project_dir).as_posix() for p in glue]
    if project_type == "host_driven":
        glue_names = [name for name in glue_names if not name.endswith("model_glue.c")]
    else:
        glue_names = [name for name in glue_names if name.endswith("model_glue.c")]
    main_sources = (
        _FIRMWARE_SOURCES + ["firmware/" + s for s in board.sources] + [loop] + glue_names
    )
    definitions = [
        *board.definitions(),
        "TVM_WORKSPACE_SIZE_BYTES={}".format(settings["workspace_size_bytes"]),
        "PROJECTAPI_SERVE={}".format(serve),
        *_user_definitions(settings["compile_definitions"]),
    ]
    lines = [
        "# Generated by the QEMU template's generate_project; edit the project options instead.",
        _cmake_set("PROJECTAPI_MAIN_SOURCES", main_sources),
        _cmake_set(
            "PROJECTAPI_MODEL_SOURCES",
            [p.relative_to(project_dir).as_posix() for p in model.sources],
        ),
        "set(PROJECTAPI_MODEL_INCLUDE_DIRS ${CMAKE_CURRENT_SOURCE_DIR}/model/codegen/host/include)",
        _cmake_set("PROJECTAPI_CRT_COMPONENTS", list(crt_sources)),
    ]
    lines += [
        _cmake_set("PROJECTAPI_CRT_SOURCES_" + name, files) for name, files in crt_sources.items()
    ]
    lines += [
        "set(PROJECTAPI_C_FLAGS {})".format(_cmake_quote(" ".join(board.compile_flags()))),
        _cmake_set("PROJECTAPI_LINK_FLAGS", board.link_flags()),
        _cmake_set("PROJECTAPI_DEFINITIONS", definitions),
        "set(PROJECTAPI_WERROR {})".format("ON" if settings["warning_as_error"] else "OFF"),
        "",
    ]
    return "\n".join(lines)


def _toolchain_cmake(board: boards.Board) -> str:
    """A CMake toolchain file for the board's cross compiler."""
    return "\n".join(
        [
            "# Cross compiler for board {} (generated).".format(board.name),
            "set(CMAKE_SYSTEM_NAME Generic)",
            "set(CMAKE_SYSTEM_PROCESSOR {})".format(board.arch),
            "set(CMAKE_C_COMPILER {}gcc)".format(board.toolchain_prefix),
            "set(CMAKE_ASM_COMPILER {}gcc)".format(board.toolchain_prefix),
            "set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)",
            "",
        ]
    )


def _copy_sources(board: boards.Board, stage: pathlib.Path) -> None:
    """Copy the CMake project, the firmware sources and this template's helper modules."""
    firmware = _HERE / "firmware"
    shutil.copy2(str(firmware / "CMakeLists.txt"), str(stage / "CMakeLists.txt"))
    shutil.copytree(
        str(firmware),
        str(stage / "firmware"),
        ignore=shutil.ignore_patterns("CMakeLists.txt", "*.in"),
    )
    (stage / "c").mkdir()
    for path in _SHARED_C_DIR.iterdir():
        if path.suffix in (".c", ".h"):
            shutil.copy2(str(path), str(stage / "c" / path.name))
    for name in _TEMPLATE_MODULES:
        shutil.copy2(str(_HERE / name), str(stage / name))
    (stage / "link.ld").write_text(
        board.linker_script((firmware / "link.ld.in").read_text(), _STACK_BYTES)
    )
    (stage / "toolchain.cmake").write_text(_toolchain_cmake(board))


class QemuHandler(server.ProjectAPIHandler):
    """Serve the QEMU template or a project generated from it."""

    def __init__(self) -> None:
        """Start with no emulator running."""
        super().__init__()
        self._transport = None  # type: Optional[qemu_transport.QemuTransport]

    def server_info_query(self, tvm_version: str) -> server.ServerInfo:
        """Describe this template or generated project."""
        return server.ServerInfo(
            platform_name="qemu",
            is_template=_IS_TEMPLATE,
            model_library_format_path=None if _IS_TEMPLATE else str(_HERE / _MLF_NAME),
            project_options=_OPTIONS,
        )

    def generate_project(
        self,
        model_library_format_path: pathlib.Path,
        standalone_crt_dir: pathlib.Path,
        project_dir: pathlib.Path,
        options: Dict[str, Any],
    ) -> None:
        """Create ``project_dir`` (which must not exist) holding a buildable firmware project."""
        settings = _checked_options(options)
        board = _BOARDS[settings["board"]]
        project_type = settings["project_type"]
        with staging.staged_directory(project_dir) as stage:
            generate.copy_helpers(_HERE / "microtvm_api_server.py", stage)
            model_dir = generate.install_model(pathlib.Path(model_library_format_path), stage)
            model = model_glue.read_model(model_dir)
            if settings.get("workspace_size_bytes") is None:
                settings["workspace_size_bytes"] = _default_workspace(model)
            components = _BASE_COMPONENTS + (
                _RPC_COMPONENTS if project_type == "host_driven" else []
            )
            crt_sources = generate.copy_runtime(
                str(standalone_crt_dir) if standalone_crt_dir else None,
                model_dir,
                stage,
                components,
            )
            generate.write_crt_config(stage / "crt_config" / "crt_config.h")
            glue = model_glue.write_glue(model, stage / "glue")
            _copy_sources(board, stage)
            (stage / "config.cmake").write_text(
                _config_cmake(settings, board, model, glue, crt_sources, stage)
            )
            (stage / _SETTINGS_NAME).write_text(json.dumps(settings, indent=2) + "\n")
            generate.extract_extra_files(settings["extra_files_tar"], stage)
        _log(
            "generated {} project for model '{}' on board {} in {}".format(
                project_type, model.name, board.name, project_dir
            )
        )

    def build(self, options: Dict[str, Any]) -> None:
        """Cross-build the firmware incrementally and check it against the board's limits."""
        settings = self._settings()
        board = _BOARDS[settings["board"]]
        board.check_toolchain()
        build_dir = _HERE / _BUILD_DIR
        if not (build_dir / "CMakeCache.txt").is_file():
            cmake_build.configure(
                str(_HERE),
                str(build_dir),
                build_type="release",
                cache={"CMAKE_TOOLCHAIN_FILE": str(_HERE / "toolchain.cmake")},
            )
        result = cmake_build.build(
            str(_HERE), str(build_dir), _IMAGE, verbose=bool(options.get("verbose"))
        )
        report = firmware_report.measure(
            board.name,
            board.flash.size,
            board.ram.size,
            pathlib.Path(result.executable),
            build_dir / "firmware.map",
        )
        (_HERE / _REPORT_NAME).write_text(json.dumps(_report_json(report), indent=2) + "\n")
        _log(report.format())
        if report.overflows():
            pathlib.Path(result.executable).unlink()  # never flash an image that does not fit
        report.check()
        _log("built {}".format(result.executable))

    def flash(self, options: Dict[str, Any]) -> None:
        """Check the image and the emulator; QEMU itself starts when the transport opens."""
        board = _BOARDS[self._settings()["board"]]
        self._image()
        board.check_emulator()
        _log(
            "ready: open_transport starts {} with {} and holds it until the UART is "
            "connected".format(board.qemu_binary, _IMAGE)
        )

    def open_transport(self, options: Dict[str, Any]) -> server.TransportTimeouts:
        """Start QEMU with the image (held until connected) and connect to its UART."""
        settings = self._settings()
        board = _BOARDS[settings["board"]]
        image = self._image()
        board.check_emulator()
        icount = _session_option(options, settings, "icount")
        gdb_port = _session_option(options, settings, "gdbserver_port")
        _check_port(gdb_port)
        self.close_transport()

        def command(serial: str) -> List[str]:
            return board.qemu_command(
                str(image), serial, icount=bool(icount), gdbserver_port=gdb_port
            )

        transport = qemu_transport.QemuTransport(command)
        transport.open()
        self._transport = transport
        if options.get("verbose"):
            _log("QEMU running (pid {}): {}".format(transport.pid, " ".join(command("..."))))
        if gdb_port is not None:
            _log("QEMU halted: attach gdb to 127.0.0.1:{} and continue".format(gdb_port))
        return _TIMEOUTS

    def close_transport(self) -> None:
        """Stop QEMU; closing a closed transport does nothing."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def read_transport(self, n: int, timeout_sec: Optional[float]) -> bytes:
        """Return 1 to ``n`` bytes from the UART, waiting at most ``timeout_sec``."""
        return self._live_transport().read(n, timeout_sec)

    def write_transport(self, data: bytes, timeout_sec: Optional[float]) -> None:
        """Send ``data`` to the UART, waiting at most ``timeout_sec``."""
        self._live_transport().write(data, timeout_sec)

    def _live_transport(self) -> qemu_transport.QemuTransport:
        if self._transport is None:
            raise server.TransportClosedError("the transport is not open: call open_transport")
        return self._transport

    @staticmethod
    def _image() -> pathlib.Path:
        image = _HERE / _BUILD_DIR / _IMAGE
        if not image.is_file():
            raise RuntimeError("the firmware is not built yet (or did not fit): run build first")
        return image

    @staticmethod
    def _settings() -> Dict[str, Any]:
        if _IS_TEMPLATE:
            raise RuntimeError("this is the QEMU template; generate a project from it first")
        return json.loads((_HERE / _SETTINGS_NAME).read_text())


def _report_json(report: firmware_report.MemoryReport) -> Dict[str, Any]:
    fields = dict(report.__dict__)
    fields.update(flash_used=report.flash_used, ram_used=report.ram_used)
    return fields


def _log(message: str) -> None:
    """Say what a project call did on stderr, which the client streams to the user."""
    print("qemu: {}".format(message), file=sys.stderr, flush=True)


if __name__ == "__main__":
    server.main(QemuHandler())
