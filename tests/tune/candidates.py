"""Small C-interface candidates of one model (y = 2 x over 64 floats) that behave differently.

``good(passes)`` computes the right output ``passes`` times (more passes: slower, same result);
the others compute a wrong output, do not compile, need more RAM than a board has, trap (the
host program dies; a Cortex-M enters its fault handler and never answers) or loop forever.
"""

from __future__ import annotations

import pathlib

from projectapi.mlf import TensorSpec, pack

MODEL = "scale"
SIZE = 64
ENTRY = b"""#include <stdint.h>
#include <tvmgen_scale.h>
int32_t tvmgen_scale_kernel(float* x, float* y);
int32_t tvmgen_scale_run(struct tvmgen_scale_inputs* inputs, struct tvmgen_scale_outputs* outputs) {
  return tvmgen_scale_kernel((float*)inputs->x, (float*)outputs->output);
}
"""
KERNEL = """#include <stdint.h>
int32_t tvmgen_scale_kernel(float* x, float* y) {{
  for (volatile int pass = 0; pass < {passes}; ++pass) {{
    for (int i = 0; i < {size}; ++i) {{ y[i] = x[i] * {factor}f; }}
  }}
  {extra}
  return 0;
}}
"""
TRAP = "__builtin_trap();"
HANG = "for (volatile int forever = 1; forever;) {}"


def _write(dest: pathlib.Path, kernel: str) -> pathlib.Path:
    pack(
        dest,
        model_name=MODEL,
        sources={"entry.c": ENTRY, "kernel.c": kernel.encode()},
        inputs=[TensorSpec("x", "float32", (1, SIZE))],
        outputs=[TensorSpec("output", "float32", (1, SIZE))],
        workspace_size_bytes=0,
    )
    return dest


def good(dest: pathlib.Path, passes: int = 1) -> pathlib.Path:
    """Right outputs; time grows with ``passes``."""
    return _write(dest, KERNEL.format(passes=passes, size=SIZE, factor="2.0", extra=""))


def wrong(dest: pathlib.Path) -> pathlib.Path:
    """Runs fine, computes 3 x."""
    return _write(dest, KERNEL.format(passes=1, size=SIZE, factor="3.0", extra=""))


def broken(dest: pathlib.Path) -> pathlib.Path:
    """Does not compile."""
    return _write(dest, KERNEL.format(passes=1, size=SIZE, factor="2.0", extra="this is not C;"))


def crashing(dest: pathlib.Path) -> pathlib.Path:
    """Traps on its first run."""
    return _write(dest, KERNEL.format(passes=1, size=SIZE, factor="2.0", extra=TRAP))


# A 4 MiB zeroed buffer read by the kernel: right outputs on the host, too big for a board's RAM.
HUGE = """#include <stdint.h>
static volatile float scratch[1 << 20];
int32_t tvmgen_scale_kernel(float* x, float* y) {
  for (int i = 0; i < 64; ++i) { y[i] = x[i] * 2.0f + scratch[i]; }
  return 0;
}
"""


def huge(dest: pathlib.Path) -> pathlib.Path:
    """Right outputs, but needs 4 MiB of RAM."""
    return _write(dest, HUGE)


def hanging(dest: pathlib.Path) -> pathlib.Path:
    """Never returns."""
    return _write(dest, KERNEL.format(passes=1, size=SIZE, factor="2.0", extra=HANG))
