"""Measure a linked firmware against its board's flash and RAM limits, split by who uses what.

Totals come from the ELF's section headers; the split (runtime, model, workspace pool, board
code, C library) comes from the linker map, by the object each input section was taken from.
"""

import dataclasses
import pathlib
import re
import struct
from typing import Dict, List, Optional, Tuple

from microtvm_kit.errors import FirmwareTooBigError, NotBuiltError

# ELF constants (System V ABI, ELF32): section types and flags used here.
_SHT_NOBITS = 8
_SHF_ALLOC = 0x2
_SHF_TLS = 0x400
_ELF_MAGIC = b"\x7fELF"
_ELF_MACHINE_OFFSET = 18

# Output sections of link.ld.in and where they live: flash (loaded), ram, or both (.data's initial
# values are stored in flash and copied to RAM at reset).
_FLASH_SECTIONS = {".text", ".ARM.exidx"}
_BOTH_SECTIONS = {".data", ".tdata"}
_RAM_SECTIONS = {".tbss", ".bss"}
STACK_SECTION = ".stack"

CATEGORIES = ("runtime", "model", "workspace pool", "board and main loop", "C library")

# An input-section line of a GNU ld map: [name] address size object (the name may be on the line
# before when it is long).
_INPUT_LINE = re.compile(r"^ (\S+)?\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
_OUTPUT_LINE = re.compile(r"^(\.\S+)(\s+0x[0-9a-fA-F]+\s+0x[0-9a-fA-F]+)?")


@dataclasses.dataclass(frozen=True)
class MemoryReport:
    """Flash and RAM use of one firmware image against its board's limits."""

    board: str
    flash_limit: int
    ram_limit: int
    text: int  # code and constants (flash)
    data: int  # initialised data (flash and RAM)
    bss: int  # zero-initialised data (RAM)
    stack: int  # main stack reservation (RAM)
    flash_by_category: Dict[str, int]
    ram_by_category: Dict[str, int]

    @property
    def flash_used(self) -> int:
        """Bytes of flash the image occupies."""
        return self.text + self.data

    @property
    def ram_used(self) -> int:
        """Bytes of RAM reserved: data, bss and stack."""
        return self.data + self.bss + self.stack

    def as_json(self) -> Dict[str, object]:
        """Every field and both totals, for memory_report.json."""
        fields = dataclasses.asdict(self)
        fields.update(flash_used=self.flash_used, ram_used=self.ram_used)
        return fields

    def overflows(self) -> List[str]:
        """One phrase per region that does not fit, naming it and the excess."""
        problems = []
        for region, used, limit, top in (
            ("flash", self.flash_used, self.flash_limit, self.flash_by_category),
            ("RAM", self.ram_used, self.ram_limit, self.ram_by_category),
        ):
            if used > limit:
                biggest = max(top.items(), key=lambda item: item[1])
                problems.append(
                    "{} overflows by {} bytes ({} used of {}; the largest user is the {} with {} "
                    "bytes)".format(region, used - limit, used, limit, biggest[0], biggest[1])
                )
        return problems

    def check(self) -> None:
        """Raise FirmwareTooBigError unless the image fits the board."""
        problems = self.overflows()
        if problems:
            raise FirmwareTooBigError(
                "the firmware does not fit board {}: {}. Use a smaller model, lower "
                "workspace_size_bytes, or pick a board with more memory.".format(
                    self.board, "; ".join(problems)
                )
            )

    def format(self) -> str:
        """A small table: totals against limits, then each category's share."""
        lines = [
            "memory use on {}: flash {} of {} bytes ({:.1f}%), RAM {} of {} bytes ({:.1f}%)".format(
                self.board,
                self.flash_used,
                self.flash_limit,
                100.0 * self.flash_used / self.flash_limit,
                self.ram_used,
                self.ram_limit,
                100.0 * self.ram_used / self.ram_limit,
            ),
            "  text {}  data {}  bss {}  stack {}".format(
                self.text, self.data, self.bss, self.stack
            ),
            "  {:<22}{:>10}{:>10}".format("share", "flash", "RAM"),
        ]
        for category in CATEGORIES:
            lines.append(
                "  {:<22}{:>10}{:>10}".format(
                    category,
                    self.flash_by_category.get(category, 0),
                    self.ram_by_category.get(category, 0),
                )
            )
        lines.append("  {:<22}{:>10}{:>10}".format("stack", 0, self.stack))
        return "\n".join(lines)


def elf_machine(path: pathlib.Path) -> Optional[int]:
    """The e_machine field of a 32-bit little-endian ELF file, or None if it is not one."""
    with open(path, "rb") as f:
        header = f.read(_ELF_MACHINE_OFFSET + 2)
    if len(header) < _ELF_MACHINE_OFFSET + 2 or header[:4] != _ELF_MAGIC or header[4:6] != b"\1\1":
        return None
    return struct.unpack_from("<H", header, _ELF_MACHINE_OFFSET)[0]


def _elf_sections(path: pathlib.Path) -> List[Tuple[str, int, int, int]]:
    """(name, type, flags, size) of every section of a little-endian ELF32 file."""
    blob = path.read_bytes()
    if blob[:4] != _ELF_MAGIC or blob[4] != 1:
        raise NotBuiltError("{} is not a 32-bit ELF file; run build again".format(path))
    shoff = struct.unpack_from("<I", blob, 0x20)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x2E)
    headers = [struct.unpack_from("<10I", blob, shoff + i * shentsize) for i in range(shnum)]
    names_offset = headers[shstrndx][4]
    sections = []
    for name_index, kind, flags, _addr, _offset, size, *_rest in headers:
        start = names_offset + name_index
        name = blob[start : blob.index(b"\0", start)].decode("ascii", "replace")
        sections.append((name, kind, flags, size))
    return sections


def _category(obj: str, section: str) -> str:
    if "libcrt_" in obj:
        return "runtime"
    if "memory_pool" in section:
        return "workspace pool"
    if "model_code" in obj or "/glue/" in obj or "model_glue" in obj or "model_registry" in obj:
        return "model"
    if re.search(r"lib(c|m|gcc|semihost)\.a", obj):
        return "C library"
    return "board and main loop"


def _map_shares(map_text: str) -> Tuple[Dict[str, int], Dict[str, int]]:
    """Bytes of flash and of RAM per category, from a GNU ld map file."""
    flash = dict.fromkeys(CATEGORIES, 0)
    ram = dict.fromkeys(CATEGORIES, 0)
    body = map_text.split("Linker script and memory map", 1)[-1]
    output = None
    pending_name = None
    for line in body.splitlines():
        out = _OUTPUT_LINE.match(line)
        if out:
            output = out.group(1)
            pending_name = None
            continue
        match = _INPUT_LINE.match(line)
        if match is None:
            stripped = line.strip()
            pending_name = stripped if stripped and " " not in stripped else None
            continue
        name = match.group(1) or pending_name or ""
        pending_name = None
        size = int(match.group(3), 16)
        if name == "*fill*" or size == 0 or output is None:
            continue
        category = _category(match.group(4), name)
        if output in _FLASH_SECTIONS or output in _BOTH_SECTIONS:
            flash[category] += size
        if output in _RAM_SECTIONS or output in _BOTH_SECTIONS:
            ram[category] += size
    return flash, ram


def measure(
    board: str, flash_limit: int, ram_limit: int, elf: pathlib.Path, map_file: pathlib.Path
) -> MemoryReport:
    """Measure a linked image (and its map) against the given limits."""
    sizes = {"text": 0, "data": 0, "bss": 0, "stack": 0}
    for name, kind, flags, size in _elf_sections(elf):
        if not flags & _SHF_ALLOC:
            continue
        if name == STACK_SECTION:
            sizes["stack"] += size
        elif kind == _SHT_NOBITS:
            if not flags & _SHF_TLS:  # .tbss's space is reserved inside .bss
                sizes["bss"] += size
        elif name in _BOTH_SECTIONS:
            sizes["data"] += size
        else:
            sizes["text"] += size
    flash, ram = _map_shares(map_file.read_text(errors="replace"))
    return MemoryReport(
        board=board,
        flash_limit=flash_limit,
        ram_limit=ram_limit,
        flash_by_category=flash,
        ram_by_category=ram,
        **sizes,
    )
