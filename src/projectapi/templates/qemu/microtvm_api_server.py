"""The QEMU template: TVM AOT and graph models as bare-metal firmware for emulated Cortex-M and RISC-V boards.

Boards are data (``boards.json``); generate and build are the bare-metal templates' own
(``microtvm_kit.bare_metal``). flash only checks that image and emulator are ready: QEMU is
started by open_transport, its UART connected to the transport before the machine runs;
close_transport stops it. generate_library builds the model and the runtime for the board's CPU
as a static archive for firmware of the user's own (docs/library.md).
"""

import pathlib
from typing import Any, Dict, List, Optional

import qemu_pty_transport
import qemu_transport

from microtvm_kit import bare_metal, library, mcu_boards, server
from microtvm_kit import firmware_template as kit

_HERE = pathlib.Path(__file__).resolve().parent

# How the emulated UART reaches the host (the `uart` option).
_UART_LINKS = {
    "socket": qemu_transport.QemuTransport,
    "pty": qemu_pty_transport.QemuPtyTransport,
}
_BOARDS = mcu_boards.load_boards(_HERE / "boards.json")

_OPTIONS = kit.project_options(
    bare_metal.COMMON_OPTIONS,
    [
        bare_metal.board_option(_BOARDS),
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


class QemuHandler(bare_metal.BareMetalTemplate):
    """Serve the QEMU template or a project generated from it."""

    PLATFORM = "qemu"
    TEMPLATE_DIR = _HERE
    OPTIONS = _OPTIONS
    BOARDS = _BOARDS
    MODULES = ("boards.json", "qemu_transport.py", "qemu_pty_transport.py")

    def __init__(self) -> None:
        """Start with no emulator running."""
        super().__init__()
        self._transport = None  # type: Any  # one of _UART_LINKS while a session runs

    def check_settings(self, settings: Dict[str, Any]) -> None:
        """The gdb server port, when given, must be a TCP port; the UART link one we know."""
        _check_port(settings.get("gdbserver_port"))
        _check_uart(settings.get("uart"))

    def flash(self, options: Dict[str, Any]) -> None:
        """Check the image and the emulator; QEMU itself starts when the transport opens."""
        board = self.board(self.settings())
        self.image(board)
        board.check_emulator()
        self.log(
            "ready: open_transport starts {} with {}, its UART connected before the "
            "machine runs".format(board.qemu_binary, bare_metal.IMAGE)
        )

    def open_transport(self, options: Dict[str, Any]) -> server.TransportTimeouts:
        """Start QEMU with the image, its UART connected to this transport."""
        settings = self.settings()
        board = self.board(settings)
        image = self.image(board)
        board.check_emulator()
        icount = bare_metal.call_option(options, settings, "icount")
        gdb_port = bare_metal.call_option(options, settings, "gdbserver_port")
        _check_port(gdb_port)
        self.close_transport()

        def command(serial: str) -> List[str]:
            return board.qemu_command(
                str(image), serial, icount=bool(icount), gdbserver_port=gdb_port
            )

        link = bare_metal.call_option(options, settings, "uart") or "socket"
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


if __name__ == "__main__":
    server.main(QemuHandler())
