"""What the pool refuses before measuring anything: nothing to do, no boards, mixed models."""

from __future__ import annotations

import pathlib

import pytest

from projectapi import tune
from projectapi.mlf.example import build_example_archive

from . import candidates as make

HOST = tune.Target("host", {"project_type": "aot_standalone"})


def _pool(tmp_path: pathlib.Path, boards: int = 1) -> tune.MeasurePool:
    return tune.MeasurePool(
        HOST, tune.TimeEvaluator(), tune.ResultDatabase(tmp_path / "r.db"), boards=boards
    )


def test_candidates_of_different_models_are_refused(tmp_path: pathlib.Path) -> None:
    ours = tune.Candidate.from_path(make.good(tmp_path / "scale.tar"))
    other = tune.Candidate.from_path(build_example_archive(tmp_path / "example.tar"))
    with pytest.raises(tune.MeasureError, match=r"example\.tar has other inputs or outputs"):
        _pool(tmp_path).measure([ours, other])
    assert _pool(tmp_path).database.results() == []


def test_bad_settings_are_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(tune.MeasureError, match="--boards must be at least 1"):
        _pool(tmp_path, boards=0)
    with pytest.raises(tune.MeasureError, match="number and repeat"):
        tune.TimeEvaluator(repeat=0).check()
    with pytest.raises(tune.MeasureError, match="no candidates"):
        _pool(tmp_path).measure([])
    with pytest.raises(tune.MeasureError, match="is not a file"):
        tune.Candidate.from_path(tmp_path / "missing.tar")
