"""Build a sketch for an AVR board with Debian's avr-gcc and the Arduino AVR core sources.

Only the core files such a sketch needs are compiled (``CORE_SOURCES``): avr-gcc 5.4 cannot
compile the core's WString.cpp (1.8.7), and nothing here uses String. The image is checked
against the chip's flash and RAM.
"""

import pathlib
import shutil
import subprocess
from typing import Dict, List, Optional, Sequence

from microtvm_kit.errors import BuildFailedError, FirmwareTooBigError, ToolchainMissingError

CORE_DIR = pathlib.Path("/usr/share/arduino/hardware/arduino/avr")
CORE_SOURCES = (
    "main.cpp",
    "wiring.c",
    "hooks.c",
    "HardwareSerial.cpp",
    "HardwareSerial0.cpp",
    "Print.cpp",
    "abi.cpp",
    "new.cpp",
)
PACKAGES = "gcc-avr avr-libc binutils-avr arduino-core-avr"
SIMAVR_INCLUDE_DIR = pathlib.Path("/usr/include/simavr")  # libsimavr-dev
BRIDGE_NAME = "simavr_bridge"
# ARDUINO as the Arduino IDE 1.8 defines it.
ARDUINO_VERSION = 10807


def check_tools() -> None:
    """ToolchainMissingError unless avr-gcc, avr-g++ and the core sources are installed."""
    for tool in ("avr-gcc", "avr-g++", "avr-size"):
        if shutil.which(tool) is None:
            raise ToolchainMissingError(
                "{} is not installed; install the Debian packages {}".format(tool, PACKAGES)
            )
    if not (CORE_DIR / "cores" / "arduino" / "Arduino.h").is_file():
        raise ToolchainMissingError(
            "the Arduino AVR core is not in {}; install the Debian package arduino-core-avr".format(
                CORE_DIR
            )
        )


def _flags(avr: Dict[str, object], include_dirs: Sequence[pathlib.Path]) -> List[str]:
    return [
        "-mmcu={}".format(avr["mcu"]),
        "-DF_CPU={}L".format(avr["f_cpu"]),
        "-DARDUINO={}".format(ARDUINO_VERSION),
        "-D{}".format(avr["define"]),
        "-DARDUINO_ARCH_AVR",
        "-Os",
        "-ffunction-sections",
        "-fdata-sections",
        "-I{}".format(CORE_DIR / "cores" / "arduino"),
        "-I{}".format(CORE_DIR / "variants" / str(avr["variant"])),
        *("-I{}".format(path) for path in include_dirs),
    ]


def _compile_command(source: pathlib.Path, obj: pathlib.Path, flags: List[str]) -> List[str]:
    if source.suffix == ".c":
        return ["avr-gcc", *flags, "-std=gnu11", "-c", str(source), "-o", str(obj)]
    language = ["-x", "c++", "-include", "Arduino.h"] if source.suffix == ".ino" else []
    cxx = ["-std=gnu++11", "-fno-exceptions", "-fno-threadsafe-statics"]
    return ["avr-g++", *flags, *cxx, *language, "-c", str(source), "-o", str(obj)]


def _run(argv: List[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).splitlines()
        first = next((line for line in lines if "error" in line), lines[-1] if lines else "")
        raise BuildFailedError("{} failed: {}".format(what, first.strip()))


def build(
    sources: Sequence[pathlib.Path],
    include_dirs: Sequence[pathlib.Path],
    avr: Dict[str, object],
    build_dir: pathlib.Path,
) -> pathlib.Path:
    """Compile ``sources`` (.ino, .c, .cpp) with the core; link ``firmware.elf``; return it."""
    check_tools()
    flags = _flags(avr, include_dirs)
    build_dir.mkdir(parents=True, exist_ok=True)
    core = [CORE_DIR / "cores" / "arduino" / name for name in CORE_SOURCES]
    objects = []
    for index, source in enumerate([*core, *sources]):
        obj = build_dir / "{:03d}_{}.o".format(index, source.name)
        _run(_compile_command(source, obj, flags), "compiling {}".format(source.name))
        objects.append(str(obj))
    image = build_dir / "firmware.elf"
    _run(
        [
            "avr-gcc",
            "-mmcu={}".format(avr["mcu"]),
            "-Os",
            "-Wl,--gc-sections",
            *objects,
            "-lm",
            "-o",
            str(image),
        ],
        "linking",
    )
    return image


def memory_use(image: pathlib.Path) -> Dict[str, int]:
    """Flash (text + data) and static RAM (data + bss) bytes of ``image``."""
    out = subprocess.run(
        ["avr-size", str(image)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    text, data, bss = (int(value) for value in out[1].split()[:3])
    return {"flash_bytes": text + data, "ram_bytes": data + bss}


def check_fits(use: Dict[str, int], flash_bytes: int, ram_bytes: int, board: str) -> str:
    """A one-line report; FirmwareTooBigError when the image overflows the chip."""
    report = "{}: flash {} of {} bytes ({:.0%}), static RAM {} of {} bytes ({:.0%})".format(
        board,
        use["flash_bytes"],
        flash_bytes,
        use["flash_bytes"] / flash_bytes,
        use["ram_bytes"],
        ram_bytes,
        use["ram_bytes"] / ram_bytes,
    )
    if use["flash_bytes"] > flash_bytes or use["ram_bytes"] > ram_bytes:
        raise FirmwareTooBigError("the firmware does not fit: " + report)
    return report


def build_simavr_bridge(source: pathlib.Path, build_dir: pathlib.Path) -> Optional[pathlib.Path]:
    """Compile the simavr UART bridge with the host compiler; None without libsimavr-dev."""
    if not (SIMAVR_INCLUDE_DIR / "sim_avr.h").is_file() or shutil.which("cc") is None:
        return None
    bridge = build_dir / BRIDGE_NAME
    _run(
        [
            "cc",
            "-O2",
            "-Wall",
            "-I{}".format(SIMAVR_INCLUDE_DIR),
            str(source),
            "-o",
            str(bridge),
            "-lsimavr",
        ],
        "compiling the simavr bridge",
    )
    return bridge
