"""Profile statistics, its table and its JSON, from made-up measurement rounds."""

from __future__ import annotations

import json

import pytest

from projectapi.micro import Profile, format_profile_table
from projectapi.micro.graph import Operator

OPERATORS = (
    Operator(1, "conv", "fused_conv", (0,), (1,)),
    Operator(2, "relu", "relu", (1,), (2,)),
    Operator(3, "dense", "fused_dense", (2,), (3,)),
)
# (operator seconds, whole run seconds) per round; a loaded machine slows some rounds down.
ROUNDS = [
    ([50e-6, 10e-6, 45e-6], 103e-6),
    ([40e-6, 30e-6, 90e-6], 250e-6),
    ([60e-6, 10e-6, 40e-6], 101e-6),
]


@pytest.fixture
def profile() -> Profile:
    return Profile.from_rounds("graph executor on the device", OPERATORS, ROUNDS)


def test_fastest_round_counts_per_operator_and_for_the_whole_run(profile: Profile) -> None:
    assert [op.seconds for op in profile.operators] == [40e-6, 10e-6, 40e-6]
    assert [op.name for op in profile.operators] == ["conv", "relu", "dense"]
    assert profile.whole_run == 101e-6
    assert profile.repeat == 3
    assert profile.total == pytest.approx(90e-6)
    assert profile.total_to_whole_run == pytest.approx(90 / 101)


def test_shares_and_order_by_time(profile: Profile) -> None:
    assert [op.name for op in profile.by_time()] == ["conv", "dense", "relu"]  # ties: run order
    assert [profile.share(op) for op in profile.operators] == pytest.approx([4 / 9, 1 / 9, 4 / 9])


def test_table_lists_operators_slowest_first_with_shares_and_the_comparison(
    profile: Profile,
) -> None:
    lines = format_profile_table(profile).splitlines()
    assert "graph executor on the device" in lines[0] and "fastest of 3" in lines[0]
    rows = [line.split() for line in lines[2:5]]
    assert rows == [
        ["conv", "[fused_conv]", "40.0", "44.4%"],
        ["dense", "[fused_dense]", "40.0", "44.4%"],
        ["relu", "10.0", "11.1%"],  # the function name is shown only when it differs
    ]
    assert lines[5].split() == ["operators", "total", "90.0", "100.0%"]
    assert lines[6].split() == ["whole", "run", "101.0"]
    assert lines[7] == "operators total = 89.1% of the whole run"


def test_json_has_every_figure_in_seconds(profile: Profile) -> None:
    doc = json.loads(profile.to_json())
    assert doc["executor"] == "graph executor on the device"
    assert doc["statistic"] == "fastest of 3"
    assert doc["operators"][0] == {
        "name": "conv",
        "function": "fused_conv",
        "seconds": 40e-6,
        "share": pytest.approx(4 / 9),
    }
    assert doc["operators_total_seconds"] == pytest.approx(90e-6)
    assert doc["whole_run_seconds"] == 101e-6
    assert doc["total_to_whole_run"] == pytest.approx(90 / 101)
