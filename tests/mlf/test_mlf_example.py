"""The bundled example model: a valid archive whose C, built with gcc, matches the numpy reference."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from projectapi import mlf
from projectapi.mlf.example import (
    MODEL_NAME,
    build_example_archive,
    example_input,
    example_reference,
)

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")

# Reads the input from stdin, runs the model twice (the workspace must be reusable), writes the
# output to stdout. Uses nothing but the archive's own header.
HARNESS = """\
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tvmgen_{m}.h>

static float in[TVMGEN_{M}_INPUT_SIZE / sizeof(float)];
static float out[TVMGEN_{M}_OUTPUT_SIZE / sizeof(float)];
static float first[TVMGEN_{M}_OUTPUT_SIZE / sizeof(float)];

int main(void) {{
  struct tvmgen_{m}_inputs inputs = {{ in }};
  struct tvmgen_{m}_outputs outputs = {{ out }};
  if (fread(in, 1, sizeof in, stdin) != sizeof in) return 3;
  if (tvmgen_{m}_run(&inputs, &outputs) != 0) return 2;
  memcpy(first, out, sizeof out);
  if (tvmgen_{m}_run(&inputs, &outputs) != 0) return 2;
  if (memcmp(first, out, sizeof out) != 0) return 4;
  fwrite(out, 1, sizeof out, stdout);
  return 0;
}}
"""


def test_example_archive_is_a_valid_c_interface_model(tmp_path: Path) -> None:
    path = build_example_archive(tmp_path / "example.tar")
    assert path == tmp_path / "example.tar"
    library = mlf.open(path)
    assert mlf.check(library) == []
    model = library.model()
    assert (model.name, model.executor, model.interface_api, model.unpacked_api) == (
        MODEL_NAME, "aot", "c", True,
    )  # fmt: skip
    assert model.entry_points == (f"tvmgen_{MODEL_NAME}_run",)
    assert model.inputs == (mlf.TensorInfo("input", "float32", (1, 32), 128),)
    assert model.outputs == (mlf.TensorInfo("output", "float32", (1, 10), 40),)
    assert model.workspace_size_bytes == 64
    assert model.constants_size_bytes == (16 * 32 + 16 + 10 * 16 + 10) * 4
    assert [f.name for f in model.operator_functions] == [
        f"tvmgen_{MODEL_NAME}_fused_nn_dense_add",
        f"tvmgen_{MODEL_NAME}_fused_nn_dense_add_nn_relu",
    ]
    assert model.params() == {}
    assert [p.name for p in tmp_path.iterdir()] == ["example.tar"]


def test_example_is_deterministic(tmp_path: Path) -> None:
    first = mlf.open(build_example_archive(tmp_path / "a.tar"))
    second = mlf.open(build_example_archive(tmp_path / "b.tar"))
    code = [m for m in first.files if m.startswith("codegen/")]
    assert code and all(first.files[m] == second.files[m] for m in code)
    inputs = example_input()
    np.testing.assert_array_equal(
        example_reference(inputs)["output"], example_reference(inputs)["output"]
    )
    assert inputs["input"].dtype == np.float32 and inputs["input"].shape == (1, 32)


def test_reference_rejects_wrong_inputs() -> None:
    with pytest.raises(KeyError, match="needs input 'input'"):
        example_reference({"x": np.zeros((1, 32), np.float32)})
    with pytest.raises(ValueError, match="must have 32 elements"):
        example_reference({"input": np.zeros((1, 31), np.float32)})


@needs_gcc
def test_example_c_matches_numpy_reference(tmp_path: Path) -> None:
    root = tmp_path / "model"
    mlf.extract_archive(build_example_archive(tmp_path / "example.tar"), root)
    harness = tmp_path / "harness.c"
    harness.write_text(HARNESS.format(m=MODEL_NAME, M=MODEL_NAME.upper()))
    sources = sorted((root / "codegen" / "host" / "src").glob("*.c"))
    assert [s.name for s in sources] == [f"{MODEL_NAME}_lib0.c", f"{MODEL_NAME}_lib1.c"]
    binary = tmp_path / "harness"
    subprocess.run(
        ["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2",
         "-I", str(root / "codegen" / "host" / "include"), *map(str, sources), str(harness),
         "-o", str(binary)],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    rng = np.random.default_rng(3)
    for inputs in (example_input(), {"input": rng.uniform(-4, 4, (1, 32)).astype(np.float32)}):
        run = subprocess.run(
            [str(binary)],
            input=inputs["input"].tobytes(),
            capture_output=True,
            timeout=30,
            check=True,
        )
        produced = np.frombuffer(run.stdout, dtype=np.float32).reshape(1, 10)
        np.testing.assert_allclose(
            produced, example_reference(inputs)["output"], rtol=1e-5, atol=1e-6
        )
