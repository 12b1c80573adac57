"""``run --farm`` without ``-o board=``: the board a project was generated for."""

from __future__ import annotations

import pathlib

import pytest

from projectapi.farm.remote_run import recorded_board


@pytest.mark.parametrize(
    ("recorded", "board"),
    [
        ('{"board": "mps2-an386", "project_type": "aot_standalone"}', {"board": "mps2-an386"}),
        ('{"project_type": "aot_standalone"}', {}),  # a template without boards
        ('{"board": null}', {}),
        ("[1, 2]", {}),
        ("not json", {}),
        (None, {}),  # a project of a template that records nothing
    ],
)
def test_recorded_board(tmp_path: pathlib.Path, recorded: str | None, board: dict) -> None:
    if recorded is not None:
        (tmp_path / "project.json").write_text(recorded)
    assert recorded_board(tmp_path) == board
