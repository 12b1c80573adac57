"""Hostile graph JSON reaches TVMGraphExecutor_Create (ASan + UBSan build): clean errors, no crash.

The `regression-*` seeds of fuzz/corpus/graph_json are inputs that once wrote past a buffer.
"""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest
from support.runtime_build import C_DIR, compile_sanitized, write_config

CORPUS = pathlib.Path(__file__).resolve().parents[2] / "fuzz" / "corpus" / "graph_json"
# Names are read into a buffer of TVM_CRT_MAX_STRLEN_FUNCTION_NAME bytes (with the terminator).
NAME_BYTES = 120


@pytest.fixture(scope="module")
def checker(tmp_path_factory) -> pathlib.Path:
    """graph_json_check.c with the runtime, malloc-backed so ASan sees every allocation."""
    root = tmp_path_factory.mktemp("graph_json")
    exe = root / "graph_json_check"
    compile_sanitized(
        exe,
        C_DIR / "graph_json_check.c",
        ("common", "memory", "platform/posix", "graph_executor", "graph_executor_module"),
        write_config(root / "cfg"),
        defines=["TVM_PLATFORM_POSIX_USE_MALLOC"],
    )
    return exe


def _check(checker: pathlib.Path, files: list[pathlib.Path]) -> list[str]:
    """One result line per file; fails on any sanitizer report or abnormal exit."""
    r = subprocess.run([checker, *files], capture_output=True, timeout=120)
    stderr = r.stderr.decode(errors="replace")
    assert r.returncode == 0 and "Sanitizer" not in stderr, stderr[-3000:]
    lines = r.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(files), lines
    return lines


def _check_text(checker: pathlib.Path, tmp_path: pathlib.Path, text: bytes) -> str:
    path = tmp_path / "graph.json"
    path.write_bytes(text)
    return _check(checker, [path])[0]


def _graph(name_literal: str) -> bytes:
    """A valid two-node graph whose input node's name is the given JSON string body."""
    doc = json.loads((CORPUS / "638b63dd933a79d4").read_text())
    text = json.dumps(doc, separators=(",", ":"))
    return text.replace('"name":"x"', f'"name":"{name_literal}"', 1).encode("latin-1")


def test_corpus_runs_clean_and_regression_seeds_are_refused(checker):
    seeds = sorted(CORPUS.iterdir())
    regressions = [p for p in seeds if p.name.startswith("regression-")]
    assert len(regressions) >= 2
    results = dict(zip(seeds, _check(checker, seeds), strict=True))
    for seed in regressions:
        assert results[seed].startswith(("error graph JSON: ", "error graph: ")), (seed, results)
    assert results[CORPUS / "638b63dd933a79d4"] == "ok x,f"


@pytest.mark.parametrize(
    ("literal", "name"),
    [
        ("caf\\u00e9", "café"),
        ("\\ud83d\\ude00 \\u0041", "\U0001f600 A"),
        ('a\\/b\\"c\\\\d\\t', 'a/b"c\\d\t'),
        ("n" * (NAME_BYTES - 1), "n" * (NAME_BYTES - 1)),
        ("n" * (NAME_BYTES - 3) + "\\u00e9", "n" * (NAME_BYTES - 3) + "é"),
    ],
)
def test_string_escapes_decode_to_utf8(checker, tmp_path, literal, name):
    assert _check_text(checker, tmp_path, _graph(literal)) == f"ok {name},f"


@pytest.mark.parametrize(
    ("literal", "name"),
    [
        ('a\\/b\\"c\\\\d\\t', 'a/b"c\\d\t'),
        ("caf\\u00e9 \\u001f", "café \x1f"),
        ("plain", "plain"),
    ],
)
def test_input_info_is_json_whatever_the_input_names(checker, tmp_path, literal, name):
    path = tmp_path / "graph.json"
    path.write_bytes(_graph(literal))
    r = subprocess.run([checker, "--input-info", path], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-3000:]
    line = r.stdout.decode("utf-8").strip()
    assert line.startswith("info "), line
    info = json.loads(line[len("info ") :])
    assert list(info["shape"]) == [name] and list(info["dtype"]) == [name]


@pytest.mark.parametrize(
    "literal",
    [
        "n" * NAME_BYTES,  # no room for the terminator
        "n" * (NAME_BYTES - 2) + "\\u00e9",  # the 2-byte character does not fit
        "n" * (NAME_BYTES - 2) + "\\u0041" * 50,  # escapes past the end (the old overflow)
    ],
)
def test_too_long_strings_are_refused(checker, tmp_path, literal):
    result = _check_text(checker, tmp_path, _graph(literal))
    assert result.startswith("error graph JSON: node name too long or bad near byte "), result


@pytest.mark.parametrize(
    "literal",
    [
        "a\\u0000b",  # NUL would cut the name short
        "\\ud83d",  # unpaired surrogate
        "\\ude00\\ud83d",
        "\\u00zz",
        "\\u12",
        "\\x41",
        "tab\there",  # raw control byte
    ],
)
def test_bad_strings_are_refused(checker, tmp_path, literal):
    result = _check_text(checker, tmp_path, _graph(literal))
    assert result.startswith("error graph JSON: bad JSON in nodes near byte "), result


def test_long_key_full_of_escapes_is_refused(checker, tmp_path):
    text = b'{"' + b"k" * 62 + b"\\u0041" * 1000 + b'":1}'
    assert _check_text(checker, tmp_path, text).startswith("error graph JSON: ")


def test_graph_attributes_must_agree_on_the_entry_count(checker, tmp_path):
    doc = json.loads(_graph("x"))
    doc["attrs"] = {
        "dltype": ["list_str", []],
        "storage_id": ["list_int", [0] * 400],
        "shape": ["list_shape", [[1]] * 400],
    }
    result = _check_text(checker, tmp_path, json.dumps(doc).encode())
    assert result == "error graph: attrs storage_id has 400 entries, expected 0", result


@pytest.mark.parametrize("dtype", ["float4294967328", "int4294967304", "int8x4294967297"])
def test_dtype_digits_do_not_wrap_around(checker, tmp_path, dtype):
    doc = json.loads(_graph("x"))
    doc["attrs"]["dltype"] = ["list_str", [dtype, "float32"]]
    result = _check_text(checker, tmp_path, json.dumps(doc).encode())
    assert result.startswith("error graph JSON: unsupported dtype near byte "), result
