"""Unit tests of the common and memory components (a C program), and bare-metal builds."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support.runtime_build import C_DIR, RUNTIME_DIR, compile_sanitized, write_config

COMPONENTS = ("common", "memory", "platform/posix")


@pytest.fixture(scope="module")
def test_exe(tmp_path_factory):
    root = tmp_path_factory.mktemp("common")
    exe = root / "test_common"
    compile_sanitized(exe, C_DIR / "test_common.c", COMPONENTS, write_config(root / "cfg"))
    return exe


def test_common_and_memory_units(test_exe):
    r = subprocess.run([test_exe], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK (0 failures)" in r.stdout


BARE_METAL = [
    ("arm-none-eabi-gcc", ["-mcpu=cortex-m0", "-mthumb"]),
    ("riscv64-unknown-elf-gcc", ["--specs=picolibc.specs", "-march=rv32imac", "-mabi=ilp32"]),
]


@pytest.mark.parametrize(
    ("cc", "flags"), BARE_METAL, ids=lambda v: v if isinstance(v, str) else "-".join(v)[:24]
)
def test_builds_for_bare_metal(cc, flags, tmp_path):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    cfg = write_config(tmp_path / "cfg", TVM_CRT_MAX_PACKET_SIZE_BYTES=512)
    sources = [p for p in sorted((RUNTIME_DIR / "src").rglob("*.c")) if "posix" not in p.parts]
    procs = []
    for src in sources:
        args = [
            cc,
            "-std=c99",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            *flags,
            f"-I{RUNTIME_DIR / 'include'}",
            f"-I{cfg}",
            "-c",
            str(src),
            "-o",
            str(tmp_path / (src.stem + ".o")),
        ]
        procs.append((src, subprocess.Popen(args, stderr=subprocess.PIPE, text=True)))
    for src, p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"{src}: {err}"
