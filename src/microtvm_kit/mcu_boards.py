"""A bare-metal boards table (a template's boards.json) as typed objects: compiler flags, memory
map, drivers, clocks, and how the board is run: QEMU's machine (emulated boards) and the debug
probe (boards on the desk)."""

import dataclasses
import json
import pathlib
import shutil
import subprocess
from typing import Dict, List, Optional, Tuple

from microtvm_kit import stm32_clock, stm32_usart
from microtvm_kit.errors import ToolchainMissingError

# Toolchain prefix and extra flags per CPU family. picolibc provides the C library; the firmware
# brings its own start-up code, so no crt0 is linked.
_TOOLCHAINS = {
    "arm": "arm-none-eabi-",
    "riscv": "riscv64-unknown-elf-",
}
# Debian packages providing the compiler, the C library and the emulator of each CPU family.
_PACKAGES = {
    "arm": ("gcc-arm-none-eabi", "picolibc-arm-none-eabi", "qemu-system-arm"),
    "riscv": ("gcc-riscv64-unknown-elf", "picolibc-riscv64-unknown-elf", "qemu-system-misc"),
}
_ENTRY_POINTS = {"arm": "reset_handler", "riscv": "_start"}
# ELF e_machine values (System V ABI): what a firmware image for each CPU family must say.
ELF_MACHINES = {"arm": 40, "riscv": 243}
# Board-layer sources (relative to the firmware directory) per CPU family and per UART driver.
_ARCH_SOURCES = {
    "arm": ["arm/startup_cortex_m.c"],
    "riscv": ["riscv/startup_riscv.S", "riscv/board_riscv.c"],
}
_UART_SOURCES = {
    "cmsdk": "arm/uart_cmsdk.c",
    "ns16550": "riscv/uart_ns16550.c",
    "stm32_usart": "stm32/usart_stm32.c",
    "nrf_uart": "nrf/uart_nrf.c",
    "nrf_uarte": "nrf/uarte_nrf.c",
}
# Clock set-up: STM32 boards with a ``clock`` entry set up the PLL (others keep the reset clock,
# or QEMU's fixed rates); nRF boards always start their crystal, which HFCLK, and with it the
# UART's baud rate and the TIMER, then runs from (QEMU reads its CLOCK events as set).
_STM32_CLOCK_SOURCE = "stm32/rcc_stm32.c"
_NRF_CLOCK_SOURCE = "nrf/clock_nrf.c"
_NRF_UART_DRIVERS = ("nrf_uart", "nrf_uarte")
# Timer drivers of Cortex-M boards (RISC-V's mtime is part of its board layer).
_TIMER_SOURCES = {"systick": ["arm/timer_systick.c"], "nrf_timer": ["nrf/timer_nrf.c"], "mtime": []}
_SYSTICK_VECTOR = 15
_FIRST_IRQ_VECTOR = 16
COMMON_SOURCES = ["board_common.c"]
# Floating point: never fuse multiply-adds, so results match the host reference bit for bit
# wherever the model's arithmetic allows.
COMMON_CFLAGS = [
    "--specs=picolibc.specs",
    "-ffp-contract=off",
    "-ffunction-sections",
    "-fdata-sections",
]


@dataclasses.dataclass(frozen=True)
class MemoryBudget:
    """What the firmware reserves besides the model: main stack, UART receive buffer, and the
    pool margin added to the model's needs (host-driven firmware also allocates the RPC
    server's buffers from it). Small parts (16 KiB of RAM) get smaller ones."""

    stack_bytes: int = 16 * 1024
    rx_buffer_bytes: int = 4096
    workspace_margin_bytes: int = 16 * 1024
    host_driven_workspace_margin_bytes: Optional[int] = None  # None: workspace_margin_bytes

    def margin(self, project_type: str) -> int:
        """The pool margin of a project type."""
        if project_type == "host_driven" and self.host_driven_workspace_margin_bytes is not None:
            return self.host_driven_workspace_margin_bytes
        return self.workspace_margin_bytes


@dataclasses.dataclass(frozen=True)
class MemoryRegion:
    """One region of the board's memory map that the firmware may use."""

    origin: int
    size: int


@dataclasses.dataclass(frozen=True)
class Probe:
    """How a board on the desk is flashed, and where its serial port is found."""

    kind: str  # e.g. "ST-LINK/V2-1 (on board)"
    pyocd_target: str
    openocd_target: str  # a config of OpenOCD's target/ folder, without .cfg
    openocd_interface: str  # a key of openocd_runner.INTERFACES
    # The USB IDs (VID:PID) the board's own serial port enumerates with, by probe firmware
    # version; empty: the board has none, the user wires an adapter.
    serial_vid_pids: Tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Board:
    """One entry of boards.json."""

    name: str
    description: str
    chip: str
    arch: str
    qemu_binary: Optional[str]  # None: not emulated
    qemu_machine: Optional[str]
    qemu_args: Tuple[str, ...]
    cflags: Tuple[str, ...]
    uart_driver: str
    uart_base: int
    uart_rx_irq: int
    # (register, mask): bits the firmware sets once its UART receives, for UARTs that drop
    # what arrives before (STM32's USART); None when the UART holds the sender off instead.
    uart_ready: Optional[Tuple[int, int]]
    timer_driver: str
    timer_name: str
    timer_hz: int
    timer_irq: Optional[int]  # None: a core timer (SysTick, mtime)
    flash: MemoryRegion
    ram: MemoryRegion
    extra_defines: Tuple[Tuple[str, int], ...]  # board-specific addresses for the board layer
    memory: MemoryBudget
    uart_baud: int = 115200
    uart_bus: Optional[str] = None  # "apb1" / "apb2": the UART's clock, from ``clock``
    uart_clock_hz: Optional[int] = None  # the UART's bus clock where no ``clock`` sets it up
    clock: Optional[stm32_clock.Stm32Clock] = None  # None: the reset (or QEMU's) clock
    probe: Optional[Probe] = None  # None: emulated only

    @property
    def toolchain_prefix(self) -> str:
        """Prefix of the cross tools, e.g. 'arm-none-eabi-'."""
        return _TOOLCHAINS[self.arch]

    @property
    def sources(self) -> List[str]:
        """Board-layer C and assembly sources, relative to the firmware directory."""
        return (
            COMMON_SOURCES
            + _ARCH_SOURCES[self.arch]
            + self._clock_sources()
            + _TIMER_SOURCES[self.timer_driver]
            + [_UART_SOURCES[self.uart_driver]]
        )

    def _clock_sources(self) -> List[str]:
        if self.clock is not None:
            return [_STM32_CLOCK_SOURCE]
        return [_NRF_CLOCK_SOURCE] if self.uart_driver in _NRF_UART_DRIVERS else []

    def check_toolchain(self) -> None:
        """Raise ToolchainMissingError unless the cross compiler and picolibc are installed."""
        gcc = self.toolchain_prefix + "gcc"
        if shutil.which(gcc) is None:
            raise ToolchainMissingError(self._missing("the cross compiler " + gcc))
        specs = subprocess.run(
            [gcc, "-print-file-name=picolibc.specs"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        ).stdout.strip()
        if not pathlib.Path(specs).is_file():
            raise ToolchainMissingError(self._missing("picolibc for " + gcc))

    def check_emulator(self) -> None:
        """Raise ToolchainMissingError unless this board's QEMU is installed."""
        self.check_emulated()
        if shutil.which(self.qemu_binary) is None:
            raise ToolchainMissingError(self._missing("the emulator " + self.qemu_binary))

    def _missing(self, what: str) -> str:
        return (
            "{} is not installed; board {} needs the Debian packages {} "
            "(apt-get install them, or run projectapi's scripts/install-deps.sh)".format(
                what, self.name, " ".join(_PACKAGES[self.arch])
            )
        )

    def definitions(self) -> List[str]:
        """The preprocessor definitions (NAME=VALUE) the board layer is compiled with."""
        addresses = [("BOARD_UART_BASE", self.uart_base), *self.extra_defines]
        numbers = [
            ("BOARD_UART_RX_IRQ", self.uart_rx_irq),
            ("BOARD_UART_BAUD", self.uart_baud),
            ("BOARD_TIMER_HZ", self.timer_hz),
            ("BOARD_RX_BUFFER_BYTES", self.memory.rx_buffer_bytes),
        ]
        if self.arch == "arm":
            numbers.append(("BOARD_TIMER_VECTOR", self.timer_vector))
        if self._clock_sources():
            numbers.append(("BOARD_CLOCK_SETUP", 1))
        if self.clock is not None:
            numbers += self.clock.definitions()
        if self.uart_driver == "stm32_usart":
            numbers.append(("BOARD_UART_BRR", self.usart_brr()))
        return ["{}={}u".format(name, _c_int(value)) for name, value in addresses] + [
            "{}={}u".format(name, value) for name, value in numbers
        ]

    def usart_brr(self) -> int:
        """An STM32 USART's divider register for the board's baud rate (ValueError when its
        bus clock cannot give that rate)."""
        bus_hz = self.clock.bus_hz(self.uart_bus) if self.clock is not None else self.uart_clock_hz
        return stm32_usart.brr(bus_hz, self.uart_baud)

    @property
    def timer_vector(self) -> int:
        """The Cortex-M exception number of the timer's interrupt."""
        if self.timer_irq is None:
            return _SYSTICK_VECTOR
        return _FIRST_IRQ_VECTOR + self.timer_irq

    def compile_flags(self) -> List[str]:
        """CPU, ABI, C library and code generation flags for every compile and the link."""
        return list(self.cflags) + COMMON_CFLAGS

    @staticmethod
    def link_flags() -> List[str]:
        """Flags the final link adds to compile_flags (besides -T and the objects)."""
        return ["-nostartfiles", "-Wl,--gc-sections"]

    def linker_script(self, template: str, stack_bytes: int) -> str:
        """The linker script for this board, filled in from link.ld.in."""
        values = {
            "BOARD": self.name,
            "CHIP": self.chip,
            "FLASH_ORIGIN": _c_int(self.flash.origin),
            "FLASH_LENGTH": str(self.flash.size),
            "RAM_ORIGIN": _c_int(self.ram.origin),
            "RAM_LENGTH": str(self.ram.size),
            "ENTRY": _ENTRY_POINTS[self.arch],
            "STACK_BYTES": str(stack_bytes),
        }
        for key, value in values.items():
            template = template.replace("@{}@".format(key), value)
        return template

    def qemu_command(
        self,
        image: str,
        serial: str,
        icount: bool = False,
        gdbserver_port: Optional[int] = None,
    ) -> List[str]:
        """The QEMU command line running image with its UART on the given -serial backend."""
        self.check_emulated()
        command = [
            self.qemu_binary,
            "-machine",
            self.qemu_machine,
            *self.qemu_args,
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            serial,
            "-kernel",
            image,
        ]
        if icount:
            command += ["-icount", "shift=0"]
        if gdbserver_port is not None:
            command += ["-gdb", "tcp:127.0.0.1:{}".format(gdbserver_port), "-S"]
        return command


    def check_emulated(self) -> None:
        """Raise ToolchainMissingError unless QEMU emulates this board."""
        if self.qemu_binary is None:
            raise ToolchainMissingError("board {} has no emulation in QEMU".format(self.name))


def _c_int(value: int) -> str:
    return "0x{:08X}".format(value)


def _uart(uart: Dict) -> Tuple[int, int, Optional[str], Tuple[Tuple[str, int], ...]]:
    """A ``uart`` entry's base address, receive interrupt, bus and pin definitions: given, or
    following from the STM32 USART and pins it names."""
    if "usart" in uart:
        usart, definitions = stm32_usart.board_uart(uart)
        return usart.base, usart.irq, usart.bus, definitions
    return int(uart["base"], 0), int(uart["rx_irq"]), uart.get("bus"), ()


def _parse(name: str, entry: Dict) -> Board:
    timer = entry["timer"]
    uart = entry["uart"]
    uart_base, uart_rx_irq, uart_bus, pin_definitions = _uart(uart)
    extra = pin_definitions + tuple(
        (key, int(value, 0)) for key, value in entry.get("defines", {}).items()
    )
    ready = uart.get("ready")
    qemu = entry.get("qemu", {"binary": None, "machine": None, "args": []})
    board = Board(
        name=name,
        description=entry["description"],
        chip=entry["chip"],
        arch=entry["arch"],
        qemu_binary=qemu["binary"],
        qemu_machine=qemu["machine"],
        qemu_args=tuple(qemu["args"]),
        cflags=tuple(entry["cflags"]),
        uart_driver=uart["driver"],
        uart_base=uart_base,
        uart_rx_irq=uart_rx_irq,
        uart_ready=(int(ready["register"], 0), int(ready["mask"], 0)) if ready else None,
        timer_driver=timer["driver"],
        timer_name=timer["name"],
        timer_hz=int(timer["hz"]),
        timer_irq=timer.get("irq"),
        flash=MemoryRegion(int(entry["flash"]["origin"], 0), int(entry["flash"]["bytes"])),
        ram=MemoryRegion(int(entry["ram"]["origin"], 0), int(entry["ram"]["bytes"])),
        extra_defines=extra,
        memory=MemoryBudget(**entry.get("memory", {})),
        uart_baud=int(uart.get("baud", 115200)),
        uart_bus=uart_bus,
        clock=_clock(name, entry["clock"]) if "clock" in entry else None,
        uart_clock_hz=uart.get("clock_hz"),
        probe=_probe(entry["probe"]) if "probe" in entry else None,
    )
    if board.uart_driver == "stm32_usart":
        try:
            board.usart_brr()  # here, so a rate the bus cannot give is refused at load
        except ValueError as error:
            raise ValueError("board {}: {}".format(name, error)) from None
    return board


def _probe(entry: Dict) -> Probe:
    return Probe(**dict(entry, serial_vid_pids=tuple(entry["serial_vid_pids"])))


def _clock(name: str, entry: Dict) -> stm32_clock.Stm32Clock:
    """A board's clock entry, refused (ValueError naming each problem) when it breaks the
    chip's limits: firmware built from it could run the chip out of its specification."""
    clock = stm32_clock.parse(entry)
    problems = clock.problems()
    if problems:
        raise ValueError("board {}: its clock entry breaks the {}'s limits: {}".format(
            name, clock.chip, "; ".join(problems)))
    return clock


def load_boards(path: pathlib.Path) -> Dict[str, Board]:
    """All boards of the table, by name."""
    with open(path, encoding="utf-8") as f:
        table = json.load(f)
    return {name: _parse(name, entry) for name, entry in table.items()}
