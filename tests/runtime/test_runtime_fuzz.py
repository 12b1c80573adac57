"""Runs each libFuzzer harness (ASan + UBSan) for a few seconds from the committed corpus."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

FUZZ_DIR = pathlib.Path(__file__).resolve().parents[2] / "fuzz"
SECONDS_PER_HARNESS = 5

pytestmark = pytest.mark.slow


def _clang_fuzzer_works(tmp: pathlib.Path) -> bool:
    if shutil.which("clang") is None:
        return False
    src = tmp / "probe.c"
    src.write_text(
        "#include <stdint.h>\n#include <stddef.h>\n"
        "int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n){(void)d;(void)n;return 0;}\n"
    )
    r = subprocess.run(
        ["clang", "-fsanitize=fuzzer", str(src), "-o", str(tmp / "probe")], capture_output=True
    )
    return r.returncode == 0


@pytest.fixture(scope="module")
def harnesses(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz")
    if not _clang_fuzzer_works(out):
        pytest.skip("clang with libFuzzer not available")
    subprocess.run([str(FUZZ_DIR / "build.sh"), str(out)], check=True, capture_output=True)
    return out


@pytest.mark.parametrize("name", ["unframer", "session", "rpc", "graph_json"])
def test_fuzzer_finds_no_crash(name, harnesses, tmp_path):
    exe = harnesses / f"fuzz_{name}"
    assert exe.exists()
    corpus = tmp_path / "corpus"
    shutil.copytree(FUZZ_DIR / "corpus" / name, corpus)
    r = subprocess.run(
        [
            str(exe),
            f"-max_total_time={SECONDS_PER_HARNESS}",
            "-max_len=8192",
            "-timeout=10",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS_PER_HARNESS * 10 + 60,
    )
    tail = r.stderr[-3000:]
    assert r.returncode == 0, tail
    assert "Done" in r.stderr, tail
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("leak-*")), tail
