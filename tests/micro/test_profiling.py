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
    ([40e-6, 30e-6, 90e-6], 250e-6),  # slow
    ([60e-6, 10e-6, 40e-6], 101e-6),
    ([20e-6, 10e-6, 20e-6], 300e-6),  # fast operators, but a slow whole run
]


@pytest.fixture
def profile() -> Profile:
    return Profile.from_rounds("graph executor on the device", OPERATORS, ROUNDS)


def test_means_over_the_fastest_half_of_the_rounds(profile: Profile) -> None:
    assert [op.seconds for op in profile.operators] == pytest.approx([55e-6, 10e-6, 42.5e-6])
    assert [op.name for op in profile.operators] == ["conv", "relu", "dense"]
    assert profile.whole_run == pytest.approx(102e-6)
    assert (profile.repeat, profile.statistic) == (4, "mean of the fastest 2 of 4 runs")
    assert profile.total == pytest.approx(107.5e-6)
    assert profile.total_to_whole_run == pytest.approx(107.5 / 102)


def test_an_odd_number_of_rounds_keeps_the_larger_half() -> None:
    profile = Profile.from_rounds("x", OPERATORS, ROUNDS[:3])
    assert profile.statistic == "mean of the fastest 2 of 3 runs"
    assert profile.whole_run == pytest.approx(102e-6)


def test_shares_and_order_by_time(profile: Profile) -> None:
    assert [op.name for op in profile.by_time()] == ["conv", "dense", "relu"]
    shares = [profile.share(op) for op in profile.operators]
    assert shares == pytest.approx([55 / 107.5, 10 / 107.5, 42.5 / 107.5])


def test_table_lists_operators_slowest_first_with_shares_and_the_comparison(
    profile: Profile,
) -> None:
    lines = format_profile_table(profile).splitlines()
    assert lines[0] == (
        "On-device time per operator, graph executor on the device "
        "(mean of the fastest 2 of 4 runs)"
    )
    rows = [line.split() for line in lines[2:5]]
    assert rows == [
        ["conv", "[fused_conv]", "55.0", "51.2%"],
        ["dense", "[fused_dense]", "42.5", "39.5%"],
        ["relu", "10.0", "9.3%"],  # the function name is shown only when it differs
    ]
    assert lines[5].split() == ["operators", "total", "107.5", "100.0%"]
    assert lines[6].split() == ["whole", "run", "102.0"]
    assert lines[7] == "operators total = 105.4% of the whole run"


def test_json_has_every_figure_in_seconds(profile: Profile) -> None:
    doc = json.loads(profile.to_json())
    assert doc["executor"] == "graph executor on the device"
    assert doc["statistic"] == "mean of the fastest 2 of 4 runs"
    assert doc["operators"][0] == {
        "name": "conv",
        "function": "fused_conv",
        "seconds": pytest.approx(55e-6),
        "share": pytest.approx(55 / 107.5),
    }
    assert doc["operators_total_seconds"] == pytest.approx(107.5e-6)
    assert doc["whole_run_seconds"] == pytest.approx(102e-6)
    assert doc["total_to_whole_run"] == pytest.approx(107.5 / 102)
