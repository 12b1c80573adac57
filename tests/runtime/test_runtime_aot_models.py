"""Real TVM-generated AOT archives compiled against the runtime's headers, linked with its
libraries and run from a small C harness; outputs must equal the archives' references."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from support.runtime_build import (
    C_DIR,
    KNOWN_GENERATED_WARNINGS,
    MLF_DIR,
    cached_runtime,
    compile_c,
    extract_mlf,
    link_group,
)

CASES = {
    # archive: harness defines
    "mnist_aot_c": ["HARNESS_C_INTERFACE", "IN_MEMBER=Input3", "OUT_MEMBER=output"],
    "qnn_dense_int8_aot_c": ["HARNESS_C_INTERFACE", "IN_MEMBER=x", "OUT_MEMBER=output"],
    "mnist_aot_packed": ["HARNESS_PACKED"],
    "mnist_aot_packed_syslib": ["HARNESS_PACKED", "HARNESS_SYSLIB"],
}

_DTYPES = {"float32": "{2,32,1}", "int8": "{0,8,1}"}


@pytest.fixture(scope="module")
def runtime_libs(tmp_path_factory):
    return cached_runtime(tmp_path_factory)


@pytest.fixture(scope="module")
def harnesses(runtime_libs, tmp_path_factory):
    """Builds every harness once; returns {archive: (executable, compiler stderr)}."""
    root = tmp_path_factory.mktemp("aot")
    libs, cfg = runtime_libs

    def build(name: str, defines: list[str]):
        mlf = extract_mlf(name, root)
        x = np.load(MLF_DIR / f"{name}.input.npy")
        y = np.load(MLF_DIR / f"{name}.output.npy")
        defs = [
            *defines,
            f"IN_BYTES={x.nbytes}",
            f"OUT_BYTES={y.nbytes}",
            "TVM_CRT_MAX_ARGS_HARNESS=10",
        ]
        defs += [
            f"IN_NDIM={x.ndim}",
            f"OUT_NDIM={y.ndim}",
            "IN_SHAPE={" + ",".join(map(str, x.shape)) + "}",
            "OUT_SHAPE={" + ",".join(map(str, y.shape)) + "}",
            f"IN_DTYPE={_DTYPES[str(x.dtype)]}",
            f"OUT_DTYPE={_DTYPES[str(y.dtype)]}",
        ]
        sources = sorted((mlf / "codegen/host/src").glob("*.c"))
        exe = root / f"{name}.bin"
        stderr = compile_c(
            exe,
            [C_DIR / "aot_harness.c", *sources],
            includes=[mlf / "codegen/host/include", cfg],
            defines=defs,
            link=link_group(libs, "common", "memory", "platform_posix"),
            allowed_warnings=KNOWN_GENERATED_WARNINGS,
            # Generated code has unused parameters; -Wextra is for the runtime and harness.
            cflags=[
                "-O1",
                "-Wno-unused-parameter",
                "-Wno-unused-variable",
                "-Wno-unused-but-set-variable",
            ],
        )
        return name, (exe, stderr)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(lambda item: build(*item), CASES.items()))


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_output_matches_reference(name, harnesses, tmp_path):
    exe, _ = harnesses[name]
    x = np.load(MLF_DIR / f"{name}.input.npy")
    ref = np.load(MLF_DIR / f"{name}.output.npy")
    (tmp_path / "in.bin").write_bytes(x.tobytes())
    r = subprocess.run(
        [exe, tmp_path / "in.bin", tmp_path / "out.bin"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    y = np.frombuffer((tmp_path / "out.bin").read_bytes(), dtype=ref.dtype).reshape(ref.shape)
    if ref.dtype.kind == "f":
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(y, ref)


def test_c_interface_only_known_warnings(harnesses):
    # The C-interface lib0.c passes the constant pool struct to a uint8_t* parameter; nothing else warns.
    _, stderr = harnesses["mnist_aot_c"]
    warnings = [line for line in stderr.splitlines() if "warning:" in line]
    assert warnings, "expected the known incompatible-pointer-types warning"
    assert all("incompatible-pointer-types" in w or "strict-aliasing" in w for w in warnings)
