"""Shared helpers of the library tests: the reference input as C, the user program's reply."""

from __future__ import annotations

import pathlib
import struct

import numpy as np
from host.host_testlib import assert_matches, reference

HERE = pathlib.Path(__file__).resolve().parent


def write_reference_input(name: str, out_dir: pathlib.Path) -> pathlib.Path:
    """``reference_input.h`` holding the archive's reference input bytes; returns its folder."""
    x, _ = reference(name)
    data = np.ascontiguousarray(x).tobytes()
    rows = [", ".join(str(b) for b in data[i : i + 16]) for i in range(0, len(data), 16)]
    out_dir.mkdir(parents=True, exist_ok=True)
    body = ",\n".join(rows)
    (out_dir / "reference_input.h").write_text(
        f"static const unsigned char reference_input[{len(data)}] "
        f"__attribute__((aligned(16))) = {{\n{body}\n}};\n"
    )
    return out_dir


def check_reply(name: str, reply: bytes) -> None:
    """The user program's ``OUT1``, status 0 and output equal to the archive's reference."""
    _, want = reference(name)
    assert reply[:4] == b"OUT1", reply[:64]
    (status,) = struct.unpack("<i", reply[4:8])
    assert status == 0
    got = np.frombuffer(reply[8:], dtype=want.dtype)
    assert got.size == want.size
    assert_matches(got, want)
