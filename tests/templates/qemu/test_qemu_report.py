"""The memory report: shares from a linker map, totals from the ELF, overflow messages."""

from __future__ import annotations

import pytest

from .qemu_testlib import template_modules

_, _, firmware_report = template_modules()

# The shape of a GNU ld map: output sections at column 0, input sections indented, long input
# section names on a line of their own, fill and symbol lines in between.
MAP = """\
Archive member included to satisfy reference by file (symbol)
Linker script and memory map

.text           0x00000000     0x1000
 *(.vectors)
 .vectors       0x00000000       0x50 CMakeFiles/firmware.elf.dir/firmware/arm/startup_cortex_m.c.obj
 .text.TVMFuncCall
                0x00000050      0x120 libcrt_common.a(packed_func.c.obj)
                0x00000050                TVMFuncCall
 .text.tvmgen_default_run
                0x00000170      0x800 CMakeFiles/model_code.dir/model/codegen/host/src/default_lib0.c.obj
 *fill*         0x00000970        0x4
 .text.memcpy   0x00000974      0x40 /usr/lib/picolibc/arm-none-eabi/lib/thumb/v7-m/nofp/libc.a(memcpy.c.o)

.data           0x20000000       0x10 load address 0x00001000
 .data.state    0x20000000       0x10 libcrt_memory.a(page_allocator.c.obj)

.bss            0x20000010     0x2100
 .bss.memory_pool
                0x20000010     0x2000 CMakeFiles/firmware.elf.dir/firmware/platform_board.c.obj
 .bss.input_data_0
                0x20002010      0x100 CMakeFiles/firmware.elf.dir/glue/model_glue.c.obj

.stack          0x20002110      0x400
"""


def test_shares_are_attributed_by_object() -> None:
    flash, ram = firmware_report._map_shares(MAP)
    assert flash["runtime"] == 0x120 + 0x10  # code, and .data's initial values
    assert ram["runtime"] == 0x10
    assert flash["model"] == 0x800
    assert ram["model"] == 0x100
    assert ram["workspace pool"] == 0x2000
    assert flash["board and main loop"] == 0x50
    assert flash["C library"] == 0x40


def report(**sizes) -> firmware_report.MemoryReport:
    values = {"text": 1000, "data": 100, "bss": 2000, "stack": 500}
    values.update(sizes)
    return firmware_report.MemoryReport(
        board="b",
        flash_limit=4096,
        ram_limit=4096,
        flash_by_category={"model": 900, "runtime": 200},
        ram_by_category={"workspace pool": 1800, "model": 300},
        **values,
    )


def test_fitting_image_passes_and_formats() -> None:
    fitting = report()
    fitting.check()
    assert fitting.flash_used == 1100 and fitting.ram_used == 2600
    text = fitting.format()
    assert "flash 1100 of 4096" in text and "RAM 2600 of 4096" in text
    assert "runtime" in text and "workspace pool" in text


def test_overflow_names_region_excess_and_largest_user() -> None:
    with pytest.raises(firmware_report.FirmwareTooBigError) as info:
        report(bss=5000).check()
    message = str(info.value)
    assert "RAM overflows by 1504 bytes" in message
    assert "workspace pool" in message
    assert "flash overflows" not in message
