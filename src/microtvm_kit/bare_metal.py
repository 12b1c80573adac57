"""What the bare-metal firmware templates share (QEMU's boards, boards on the desk): one board
layer (``c/bare_metal/``: start-up, drivers, linker script), one boards table format
(``mcu_boards``), generate and build. A template says how its boards run: flash and the
transport.

generate_project writes start-up code and drivers for the board, the linker script from its
memory map, the runtime, the model and its glue, and a CMake project cross-compiling it all.
build links the image and checks it against the board's flash and RAM limits (the memory
report). Project types: ``aot_standalone`` (standalone link protocol on the UART) and
``host_driven`` (the microTVM RPC server on the UART).
"""

from __future__ import annotations

import json
import pathlib
import shutil
from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Tuple

from microtvm_kit import FIRMWARE_C_DIR, firmware_report, library, mcu_boards, server
from microtvm_kit import firmware_template as kit

if TYPE_CHECKING:  # imported where used: a server serving flash and run never loads it
    from microtvm_kit import model_glue

REPORT_NAME = "memory_report.json"  # the last build's memory use, for tools and benchmarks
BUILD_DIR = "build"
IMAGE = "firmware.elf"
BOARD_LAYER_DIR = "bare_metal"  # in FIRMWARE_C_DIR; a project's copy is its firmware/

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
# (mcu_boards.MemoryBudget).
_RPC_BUFFERS_PER_PACKET_BYTE = 4  # receive buffer + decoding arena of 3 packets

# The options every bare-metal template has besides the shared firmware ones.
COMMON_OPTIONS = {
    "verbose": {
        "optional": ["build", "open_transport"],
        "help": "Show the full compiler command lines; report the transport's details.",
    },
    "workspace_size_bytes": {
        "help": "Bytes of the firmware's memory pool for the runtime (default: the "
        "board's margin, 16 KiB on most boards, plus the model's workspace when its code "
        "allocates it at run time, plus the graph executor's memory for graph models)."
    },
}


def call_option(options: Dict[str, Any], settings: Dict[str, Any], name: str) -> Any:
    """An option of a flash or open_transport call: as given, else as given at generate time
    (else None)."""
    value = options.get(name)
    return settings.get(name) if value is None else value


def board_option(boards: Dict[str, mcu_boards.Board]) -> server.ProjectOption:
    """The ``board`` option, its choices and help from a boards table."""
    return server.ProjectOption(
        "board",
        choices=sorted(boards),
        type="str",
        required=kit.GENERATE_BOTH,
        help="Board to build for: "
        + "; ".join("{} ({})".format(name, b.description) for name, b in sorted(boards.items())),
    )


def default_workspace(model: model_glue.ModelInfo, project_type: str, margin: int) -> int:
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


def toolchain_cmake(board: mcu_boards.Board) -> str:
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


class BareMetalTemplate(library.LibraryTemplate):
    """generate_project, generate_library and build for a bare-metal boards table.

    Subclasses set ``PLATFORM``, ``TEMPLATE_DIR``, ``OPTIONS``, ``BOARDS`` (their boards.json)
    and ``MODULES`` (their own files a generated project needs beside its server), and
    implement flash and the transport.
    """

    BOARDS: ClassVar[Dict[str, mcu_boards.Board]] = {}
    MODULES: ClassVar[Tuple[str, ...]] = ("boards.json",)
    # What flash and open_transport read: the server, its data and the linked image.
    RUN_FILES = (*kit.SERVER_FILES, BUILD_DIR + "/" + IMAGE)
    STARTUP_FILES = kit.STARTUP_FILES

    def board(self, settings: Dict[str, Any]) -> mcu_boards.Board:
        """The board a project is for."""
        return self.BOARDS[settings["board"]]

    def complete_settings(self, settings: Dict[str, Any], model: model_glue.ModelInfo) -> None:
        """Size the memory pool for the model unless workspace_size_bytes was given."""
        if settings.get("workspace_size_bytes") is None:
            margin = self.board(settings).memory.margin(settings["project_type"])
            settings["workspace_size_bytes"] = default_workspace(
                model, settings["project_type"], margin
            )

    def library_cmake_cache(
        self, settings: Dict[str, Any], source_dir: pathlib.Path
    ) -> Dict[str, str]:
        """Cross-compile the library for the board (its toolchain file beside the sources)."""
        board = self.board(settings)
        board.check_toolchain()
        (source_dir / "toolchain.cmake").write_text(toolchain_cmake(board))
        return {"CMAKE_TOOLCHAIN_FILE": str(source_dir / "toolchain.cmake")}

    def write_sources(self, settings: Dict[str, Any], stage: pathlib.Path) -> List[str]:
        """Copy the CMake project, the board layer and the template's modules; write the linker
        script and the toolchain file for the board."""
        board = self.board(settings)
        firmware = FIRMWARE_C_DIR / BOARD_LAYER_DIR
        shutil.copy2(str(firmware / "CMakeLists.txt"), str(stage / "CMakeLists.txt"))
        shutil.copytree(
            str(firmware),
            str(stage / "firmware"),
            ignore=shutil.ignore_patterns("CMakeLists.txt", "*.in"),
        )
        for name in self.MODULES:
            shutil.copy2(str(self.TEMPLATE_DIR / name), str(stage / name))
        (stage / "link.ld").write_text(
            board.linker_script((firmware / "link.ld.in").read_text(), board.memory.stack_bytes)
        )
        (stage / "toolchain.cmake").write_text(toolchain_cmake(board))
        return _FIRMWARE_SOURCES + ["firmware/" + source for source in board.sources]

    def definitions(self, settings: Dict[str, Any]) -> List[str]:
        """The board layer's addresses and rates, and the project type's main loop."""
        board = self.board(settings)
        return [*board.definitions(), "PROJECTAPI_SERVE=" + _SERVE[settings["project_type"]]]

    def cmake_lines(self, settings: Dict[str, Any]) -> List[str]:
        """The board's compile and link flags."""
        board = self.board(settings)
        return [
            "set(PROJECTAPI_C_FLAGS {})".format(kit.cmake_quote(" ".join(board.compile_flags()))),
            kit.cmake_set("PROJECTAPI_LINK_FLAGS", board.link_flags()),
        ]

    def build(self, options: Dict[str, Any]) -> Dict[str, object]:
        """Cross-build the firmware incrementally, check it against the board's limits and
        return the memory report (also written to memory_report.json)."""
        from microtvm_kit import cmake_build, runtime_cache

        board = self.board(self.settings())
        board.check_toolchain()
        build_dir = self.TEMPLATE_DIR / BUILD_DIR
        result = cmake_build.build(
            str(self.TEMPLATE_DIR),
            str(build_dir),
            IMAGE,
            verbose=bool(options.get("verbose")),
            cmake_cache={"CMAKE_TOOLCHAIN_FILE": str(self.TEMPLATE_DIR / "toolchain.cmake")},
            runtime=runtime_cache.RuntimeCache.for_project(
                self.TEMPLATE_DIR, [self.PLATFORM, board.name], board.toolchain_prefix + "gcc"
            ),
        )
        report = firmware_report.measure(
            board.name,
            board.flash.size,
            board.ram.size,
            pathlib.Path(result.executable),
            build_dir / "firmware.map",
        )
        (self.TEMPLATE_DIR / REPORT_NAME).write_text(json.dumps(report.as_json(), indent=2) + "\n")
        self.log(report.format())
        if report.overflows():
            pathlib.Path(result.executable).unlink()  # never flash an image that does not fit
        report.check()
        self.log("built {}".format(result.executable))
        return report.as_json()

    def image(self, board: mcu_boards.Board) -> pathlib.Path:
        """The built image, checked to be firmware for the board's CPU."""
        image = self.TEMPLATE_DIR / BUILD_DIR / IMAGE
        if not image.is_file():
            raise server.NotBuiltError(
                "the firmware is not built yet (or did not fit): run build first"
            )
        if firmware_report.elf_machine(image) != mcu_boards.ELF_MACHINES[board.arch]:
            raise server.NotBuiltError(
                "{} is not a 32-bit {} ELF image; run build again".format(image, board.arch)
            )
        return image
