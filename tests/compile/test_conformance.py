"""The ONNX backend test models in the onnx wheel: compiled, run on the host template and
judged against their reference outputs. The counts are the ones docs/compile.md states."""

from __future__ import annotations

import pathlib
import re

import pytest

from .onnx_conformance import summary, sweep

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "compile.md"
EXPECTED = {"pass": 121, "refused": 18, "wrong": 1}


@pytest.mark.slow
def test_conformance_counts_hold(tmp_path) -> None:
    outcomes = sweep(tmp_path)
    counts = summary(outcomes)
    wrong = [(o.case.name, o.detail) for o in outcomes if o.status == "wrong"]
    assert dict(counts) == EXPECTED, wrong
    stated = re.search(r"(\d+) pass, (\d+) compile-refused, (\d+) wrong", DOC.read_text())
    assert stated is not None, "docs/compile.md must state the conformance summary"
    assert tuple(map(int, stated.groups())) == tuple(EXPECTED.values())
