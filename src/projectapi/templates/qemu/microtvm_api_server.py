"""The QEMU template: TVM AOT and graph models as bare-metal firmware for emulated Cortex-M and RISC-V boards.

Boards are data (``boards.json``). generate_project writes a firmware project: start-up code and
drivers for the board, the linker script from its memory map, the runtime, the model and its glue,
and a CMake project cross-compiling it all. build links the image and checks it against the
board's flash and RAM limits. flash only checks that image and emulator are ready: QEMU is
started by open_transport, its UART connected to the transport before the machine runs;
close_transport stops it. generate_library builds the model and the runtime for the board's CPU
as a static archive for firmware of the user's own (docs/library.md). Project types as on the host template: ``aot_standalone`` (standalone
link protocol on the UART) and ``host_driven`` (the microTVM RPC server on the UART).
"""

from __future__ import annotations

import json
import pathlib
import shutil
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import boards
import firmware_report
import qemu_pty_transport
import qemu_transport

from microtvm_kit import firmware_template as kit
from microtvm_kit import library, server

if TYPE_CHECKING:  # imported where used: a server serving flash and run never loads it
    from microtvm_kit import model_glue

_HERE = pathlib.Path(__file__).resolve().parent

_REPORT_NAME = "memory_report.json"  # the last build's memory use, for tools and benchmarks
_BUILD_DIR = "build"
_IMAGE = "firmware.elf"
# Files of this template that a generated project needs beside its server.
_TEMPLATE_MODULES = (
    "boards.py",
    "boards.json",
    "firmware_report.py",
    "qemu_transport.py",
    "qemu_pty_transport.py",
)
# How the emulated UART reaches the host (the `uart` option).
_UART_LINKS = {
    "socket": qemu_transport.QemuTransport,
    "pty": qemu_pty_transport.QemuPtyTransport,
}
_BOARDS = boards.load_boards(_HERE / "boards.json")

# The main loop function firmware/main.c calls, per project type.
_SERVE = {
    "aot_standalone": "projectapi_standalone_serve",
    "host_driven": "projectapi_host_driven_serve",
}
_FIRMWARE_SOURCES = ["firmware/main.c", "firmware/port_board.c", "firmware/platform_board.c"]
# Default pool for TVMPlatformMemoryAllocate: room for the page allocator's bookkeeping and,
# host-driven, the arrays the host allocates, plus the model's workspace when its code allocates
# it at run time (TVMBackendAllocWorkspace) rather than declaring it statically; for graph models
# also what the graph executor allocates (storage and tables), and the larger message buffers a
# host-driven session needs to carry the graph JSON. The margin, like the stack, is the board's
# (boards.MemoryBudget).
_RPC_BUFFERS_PER_PACKET_BYTE = 4  # receive buffer + decoding arena of 3 packets

_OPTIONS = kit.project_options(
    {
        "verbose": {
            "optional": ["build", "open_transport"],
            "help": "Show the full compiler command lines; report QEMU's command.",
        },
        "workspace_size_bytes": {
            "help": "Bytes of the firmware's memory pool for the runtime (default: the "
            "board's margin, 16 KiB on most boards, plus the model's workspace when its code "
            "allocates it at run time, plus the graph executor's memory for graph models)."
        },
    },
    [
        server.ProjectOption(
            "board",
            choices=sorted(_BOARDS),
            type="str",
            required=kit.GENERATE_BOTH,
            help="Board to build for: "
            + "; ".join(
                "{} ({})".format(name, b.description) for name, b in sorted(_BOARDS.items())
            ),
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
            "uart",
            type="str",
            optional=["generate_project", "open_transport"],
            help="How the emulated UART reaches the host: socket (a TCP connection on "
            "127.0.0.1, the default) or pty (a pseudo-terminal opened as a serial port with "
            "pyserial, the path a real board's USB serial port takes). Given to "
            "open_transport it overrides the project's setting.",
        ),
        server.ProjectOption(
            "gdbserver_port",
            type="int",
            optional=["generate_project", "open_transport"],
            help="Start QEMU's gdb server on this TCP port, with the CPU halted until the "
            "debugger continues it (given to open_transport it overrides the project's "
            "setting).",
        ),
        *library.LIBRARY_OPTIONS,
    ],
)


def _check_port(port: Optional[int]) -> None:
    if port is not None and not 1 <= port <= 65535:
        raise server.UnsupportedOptionError(
            "gdbserver_port must be a TCP port from 1 to 65535, got {}".format(port)
        )


def _check_uart(link: Optional[str]) -> None:
    if link is not None and link not in _UART_LINKS:
        raise ValueError("uart must be one of {}, got {!r}".format(", ".join(_UART_LINKS), link))


def _session_option(options: Dict[str, Any], settings: Dict[str, Any], name: str) -> Any:
    """An open_transport option: as given, else as given at generate time (else None)."""
    value = options.get(name)
    return settings.get(name) if value is None else value


def _default_workspace(model: model_glue.ModelInfo, project_type: str, margin: int) -> int:
    """The pool size when workspace_size_bytes is not given: the board's margin plus what the
    model needs (see _RPC_BUFFERS_PER_PACKET_BYTE)."""
    if model.graph is None:
        dynamic = any("TVMBackendAllocWorkspace" in src.read_text() for src in model.sources)
        return margin + (model.workspace_size_bytes if dynamic else 0)
    # A graph model's workspace is its executor's storage; operators allocate only scratch.
    from microtvm_kit import generate

    packet_name = "TVM_CRT_MAX_PACKET_SIZE_BYTES"
    default_packet = generate.CRT_CONFIG_DEFAULTS[packet_name]
    packet = kit.crt_config(project_type, model).get(packet_name, default_packet)
    extra_rpc = _RPC_BUFFERS_PER_PACKET_BYTE * (packet - default_packet)
    return margin + model.graph.executor_bytes + extra_rpc


def _toolchain_cmake(board: boards.Board) -> str:
    """A CMake toolchain file for the board's cross compiler."""
    return "\n".join(
        [
            "# Cross compiler for board {} (generated).".format(board.name),
            "set(CMAKE_SYSTEM_NAME Generic)",
            "set(CMAKE_SYSTEM_PROCESSOR {})".format(board.arch),
            "set(CMAKE_C_COMPILER {}gcc)".format(board.toolchain_prefix),
            "set(CMAKE_ASM_COMPILER {}gcc)".format(board.toolchain_prefix),
            "set(CMAKE_CXX_COMPILER {}g++)".format(board.toolchain_prefix),
            "set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)",
            "",
        ]
    )


class QemuHandler(library.LibraryTemplate):
    """Serve the QEMU template or a project generated from it."""

    PLATFORM = "qemu"
    TEMPLATE_DIR = _HERE
    OPTIONS = _OPTIONS
    RUN_FILES = (*kit.SERVER_FILES, _BUILD_DIR + "/" + _IMAGE)

    def __init__(self) -> None:
        """Start with no emulator running."""
        super().__init__()
        self._transport = None  # type: Any  # one of _UART_LINKS while a session runs

    def check_settings(self, settings: Dict[str, Any]) -> None:
        """The gdb server port, when given, must be a TCP port; the UART link one we know."""
        _check_port(settings.get("gdbserver_port"))
        _check_uart(settings.get("uart"))

    def complete_settings(self, settings: Dict[str, Any], model: model_glue.ModelInfo) -> None:
        """Size the memory pool for the model unless workspace_size_bytes was given."""
        if settings.get("workspace_size_bytes") is None:
            margin = _BOARDS[settings["board"]].memory.margin(settings["project_type"])
            settings["workspace_size_bytes"] = _default_workspace(
                model, settings["project_type"], margin
            )

    def library_cmake_cache(
        self, settings: Dict[str, Any], source_dir: pathlib.Path
    ) -> Dict[str, str]:
        """Cross-compile the library for the board (its toolchain file beside the sources)."""
        board = _BOARDS[settings["board"]]
        board.check_toolchain()
        (source_dir / "toolchain.cmake").write_text(_toolchain_cmake(board))
        return {"CMAKE_TOOLCHAIN_FILE": str(source_dir / "toolchain.cmake")}

    def write_sources(self, settings: Dict[str, Any], stage: pathlib.Path) -> List[str]:
        """Copy the CMake project, the firmware and this template's modules; write the linker
        script and the toolchain file for the board."""
        board = _BOARDS[settings["board"]]
        firmware = _HERE / "firmware"
        shutil.copy2(str(firmware / "CMakeLists.txt"), str(stage / "CMakeLists.txt"))
        shutil.copytree(
            str(firmware),
            str(stage / "firmware"),
            ignore=shutil.ignore_patterns("CMakeLists.txt", "*.in"),
        )
        for name in _TEMPLATE_MODULES:
            shutil.copy2(str(_HERE / name), str(stage / name))
        (stage / "link.ld").write_text(
            board.linker_script((firmware / "link.ld.in").read_text(), board.memory.stack_bytes)
        )
        (stage / "toolchain.cmake").write_text(_toolchain_cmake(board))
        return _FIRMWARE_SOURCES + ["firmware/" + source for source in board.sources]

    def definitions(self, settings: Dict[str, Any]) -> List[str]:
        """The board layer's addresses and rates, and the project type's main loop."""
        board = _BOARDS[settings["board"]]
        return [*board.definitions(), "PROJECTAPI_SERVE=" + _SERVE[settings["project_type"]]]

    def cmake_lines(self, settings: Dict[str, Any]) -> List[str]:
        """The board's compile and link flags."""
        board = _BOARDS[settings["board"]]
        return [
            "set(PROJECTAPI_C_FLAGS {})".format(kit.cmake_quote(" ".join(board.compile_flags()))),
            kit.cmake_set("PROJECTAPI_LINK_FLAGS", board.link_flags()),
        ]

    def build(self, options: Dict[str, Any]) -> Dict[str, object]:
        """Cross-build the firmware incrementally, check it against the board's limits and
        return the memory report (also written to memory_report.json)."""
        from microtvm_kit import cmake_build, runtime_cache

        settings = self.settings()
        board = _BOARDS[settings["board"]]
        board.check_toolchain()
        build_dir = _HERE / _BUILD_DIR
        result = cmake_build.build(
            str(_HERE),
            str(build_dir),
            _IMAGE,
            verbose=bool(options.get("verbose")),
            cmake_cache={"CMAKE_TOOLCHAIN_FILE": str(_HERE / "toolchain.cmake")},
            runtime=runtime_cache.RuntimeCache.for_project(
                _HERE, [self.PLATFORM, board.name], board.toolchain_prefix + "gcc"
            ),
        )
        report = firmware_report.measure(
            board.name,
            board.flash.size,
            board.ram.size,
            pathlib.Path(result.executable),
            build_dir / "firmware.map",
        )
        (_HERE / _REPORT_NAME).write_text(json.dumps(report.as_json(), indent=2) + "\n")
        self.log(report.format())
        if report.overflows():
            pathlib.Path(result.executable).unlink()  # never flash an image that does not fit
        report.check()
        self.log("built {}".format(result.executable))
        return report.as_json()

    def flash(self, options: Dict[str, Any]) -> None:
        """Check the image and the emulator; QEMU itself starts when the transport opens."""
        board = _BOARDS[self.settings()["board"]]
        self._image(board)
        board.check_emulator()
        self.log(
            "ready: open_transport starts {} with {}, its UART connected before the "
            "machine runs".format(board.qemu_binary, _IMAGE)
        )

    def open_transport(self, options: Dict[str, Any]) -> server.TransportTimeouts:
        """Start QEMU with the image, its UART connected to this transport."""
        settings = self.settings()
        board = _BOARDS[settings["board"]]
        image = self._image(board)
        board.check_emulator()
        icount = _session_option(options, settings, "icount")
        gdb_port = _session_option(options, settings, "gdbserver_port")
        _check_port(gdb_port)
        self.close_transport()

        def command(serial: str) -> List[str]:
            return board.qemu_command(
                str(image), serial, icount=bool(icount), gdbserver_port=gdb_port
            )

        link = _session_option(options, settings, "uart") or "socket"
        _check_uart(link)
        # A UART that drops early bytes: wait until the firmware enables it (not while a
        # debugger holds the CPU).
        ready = None
        if board.uart_ready is not None and gdb_port is None:
            ready = qemu_transport.UartReadyCheck(*board.uart_ready)
        if link == "pty":
            transport = _UART_LINKS[link](command, resume=gdb_port is None, ready=ready)
        else:
            transport = _UART_LINKS[link](command, ready=ready)
        transport.open()
        self._transport = transport
        if options.get("verbose"):
            self.log("QEMU running (pid {}): {}".format(transport.pid, " ".join(command("..."))))
        if gdb_port is not None:
            self.log("QEMU halted: attach gdb to 127.0.0.1:{} and continue".format(gdb_port))
        return kit.SESSION_TIMEOUTS

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

    def _live_transport(self) -> Any:
        if self._transport is None:
            raise server.TransportClosedError("the transport is not open: call open_transport")
        return self._transport

    @staticmethod
    def _image(board: boards.Board) -> pathlib.Path:
        """The built image, checked to be firmware for the board's CPU."""
        image = _HERE / _BUILD_DIR / _IMAGE
        if not image.is_file():
            raise server.NotBuiltError(
                "the firmware is not built yet (or did not fit): run build first"
            )
        if firmware_report.elf_machine(image) != boards.ELF_MACHINES[board.arch]:
            raise server.NotBuiltError(
                "{} is not a 32-bit {} ELF image; run build again".format(image, board.arch)
            )
        return image


if __name__ == "__main__":
    server.main(QemuHandler())
