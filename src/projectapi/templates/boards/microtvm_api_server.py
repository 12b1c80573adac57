"""The boards template: TVM AOT and graph models as bare-metal firmware for boards on the desk
(STM32F4 Nucleo and Discovery boards, Netduino Plus 2, micro:bit, nRF52840-DK).

One template for every chip family: the board layer (``microtvm_kit/c/bare_metal``) is the QEMU
template's, so the firmware CI runs on QEMU's emulations of the same chips is this firmware;
only the data differ (``boards.json``: memory map, clocks, pins, probe). generate and build are
the bare-metal templates' own (``microtvm_kit.bare_metal``). flash writes the image through the
board's debug probe with pyOCD or OpenOCD (the ``runner`` option); open_transport opens the
board's serial port with pyserial (``port``, or ``serial_number`` / ``vid_pid`` choosing among
attached boards, else the board's own USB ID).
"""

import pathlib
from typing import Any, Dict

from microtvm_kit import (
    bare_metal,
    held_transport,
    library,
    mcu_boards,
    openocd_runner,
    pyocd_runner,
    serial_transport,
    server,
)
from microtvm_kit import firmware_template as kit

_HERE = pathlib.Path(__file__).resolve().parent
_BOARDS = mcu_boards.load_boards(_HERE / "boards.json")
_RUNNERS = ("pyocd", "openocd")
_FLASH_AND_OPEN = ["generate_project", "flash", "open_transport"]
_OPEN = ["generate_project", "open_transport"]

_OPTIONS = kit.project_options(
    bare_metal.COMMON_OPTIONS,
    [
        bare_metal.board_option(_BOARDS),
        server.ProjectOption(
            "runner",
            choices=list(_RUNNERS),
            default=_RUNNERS[0],
            type="str",
            optional=["generate_project", "flash"],
            help="The flash tool: pyocd (pyOCD's Python API, pip install pyocd; the default) "
            "or openocd (apt-get install openocd).",
        ),
        server.ProjectOption(
            "probe",
            type="str",
            optional=_FLASH_AND_OPEN,
            help="The debug probe's serial number (pyOCD's unique id), when several are "
            "attached.",
        ),
        server.ProjectOption(
            "port",
            type="str",
            optional=_OPEN,
            help="The board's serial port, e.g. /dev/ttyACM0 (default: found by serial_number "
            "/ vid_pid, else by the board's own USB ID).",
        ),
        server.ProjectOption(
            "serial_number",
            type="str",
            optional=_OPEN,
            help="Open the serial port of the attached board with this USB serial number "
            "(see `projectapi device list`).",
        ),
        server.ProjectOption(
            "vid_pid",
            type="str",
            optional=_OPEN,
            help="Open the serial port with this USB VID:PID in hex, e.g. 0483:374b.",
        ),
        server.ProjectOption(
            "baud",
            type="int",
            optional=_OPEN,
            help="The serial port's baud rate (default: the board's, 115200).",
        ),
        *library.LIBRARY_OPTIONS,
    ],
)


def _check_runner(runner: str) -> None:
    if runner not in _RUNNERS:
        raise server.UnsupportedOptionError(
            "runner must be one of {}, got {!r}".format(", ".join(_RUNNERS), runner)
        )


class BoardsHandler(held_transport.HeldTransport, bare_metal.BareMetalTemplate):
    """Serve the boards template or a project generated from it."""

    PLATFORM = "boards"
    TEMPLATE_DIR = _HERE
    OPTIONS = _OPTIONS
    BOARDS = _BOARDS

    def check_settings(self, settings: Dict[str, Any]) -> None:
        """A VID:PID must read as one (the runner is a checked choice)."""
        if settings.get("vid_pid"):
            serial_transport.parse_vid_pid(settings["vid_pid"])

    def flash(self, options: Dict[str, Any]) -> None:
        """Write the image to the board through its debug probe, then reset it."""
        settings = self.settings()
        board = self.board(settings)
        image = self.image(board)
        probe = board.probe
        runner = bare_metal.call_option(options, settings, "runner") or _RUNNERS[0]
        _check_runner(runner)
        probe_id = bare_metal.call_option(options, settings, "probe")
        if runner == "pyocd":
            pyocd_runner.flash(image, probe.pyocd_target, probe_id)
        else:
            openocd_runner.flash(image, probe.openocd_interface, probe.openocd_target, probe_id)
        self.log("flashed {} to {} with {}".format(image.name, board.name, runner))

    def open_transport(self, options: Dict[str, Any]) -> server.TransportTimeouts:
        """Open the board's serial port."""
        settings = self.settings()
        board = self.board(settings)
        port = self._port(board, options, settings)
        baud = bare_metal.call_option(options, settings, "baud") or board.uart_baud
        self.hold(serial_transport.SerialTransport(port, baud))
        if options.get("verbose"):
            self.log("serial port {} open at {} baud".format(port, baud))
        return kit.SESSION_TIMEOUTS

    @staticmethod
    def _port(board: mcu_boards.Board, options: Dict[str, Any], settings: Dict[str, Any]) -> str:
        """The port given, else the one attached port matching serial_number / vid_pid, else
        the board's own USB serial port."""
        port = bare_metal.call_option(options, settings, "port")
        if port:
            return port
        serial_number = bare_metal.call_option(options, settings, "serial_number")
        vid_pid = bare_metal.call_option(options, settings, "vid_pid")
        if serial_number or vid_pid:
            return serial_transport.find_port(serial_number=serial_number, vid_pid=vid_pid)
        if not board.probe.serial_vid_pids:
            raise server.UnsupportedOptionError(
                "board {} has no serial port of its own ({}): give the port option, e.g. "
                "-o port=/dev/ttyUSB0, or serial_number / vid_pid of the USB serial "
                "adapter".format(board.name, board.probe.kind)
            )
        return serial_transport.find_port(vid_pids=board.probe.serial_vid_pids)


if __name__ == "__main__":
    server.main(BoardsHandler())
