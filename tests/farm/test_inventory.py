"""The board inventory: what a valid file gives, and a message naming file, board and key for
each mistake."""

from __future__ import annotations

import pathlib

import pytest

from projectapi.farm import BoardSpec, InventoryError, load_inventory
from projectapi.farm.inventory import resource_name

GOOD = """
[[board]]
name = "an386"
template = "qemu"
count = 2
labels = ["m4", "emulated"]
[board.options]
board = "mps2-an386"
icount = true

[[board]]
name = "nucleo"
template = "zephyr"
[board.options]
board = "nucleo_f746zg"
serial_number = "0672FF"
"""


def _write(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "boards.toml"
    path.write_text(text)
    return path


def test_a_valid_inventory(tmp_path: pathlib.Path) -> None:
    an386, nucleo = load_inventory(_write(tmp_path, GOOD))
    assert an386 == BoardSpec(
        "an386", "qemu", {"board": "mps2-an386", "icount": True}, ("m4", "emulated"), 2
    )
    assert an386.kind == "mps2-an386" and an386.unit_names() == ["an386#0", "an386#1"]
    assert nucleo.count == 1 and nucleo.unit_names() == ["nucleo"] and nucleo.labels == ()
    assert resource_name(nucleo.kind) == "board:nucleo_f746zg"
    assert BoardSpec("pc", "host").kind == "host"  # no board option: the template names it


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no boards; add at least one [[board]] table"),
        ("boards = 1", "unknown top-level key 'boards'"),
        ('[[board]]\ntemplate = "qemu"', "board 1: key 'name' must be"),
        ('[[board]]\nname = "a b"\ntemplate = "qemu"', "board 1: key 'name' must be"),
        ('[[board]]\nname = "x"', "board 'x': key 'template' must name a template"),
        ('[[board]]\nname = "x"\ntemplate = "qemu"\ncount = 0', "board 'x': key 'count'"),
        ('[[board]]\nname = "x"\ntemplate = "qemu"\nlabels = "m4"', "board 'x': key 'labels'"),
        ('[[board]]\nname = "x"\ntemplate = "qemu"\nport = 1', "board 'x': unknown key 'port'"),
        ('[[board]]\nname = "x"\ntemplate = "qemu"\noptions = 3', "board 'x': key 'options'"),
        (
            '[[board]]\nname = "x"\ntemplate = "qemu"\n[board.options]\nboard = [1]',
            "board 'x': option 'board' must be a string, number or boolean",
        ),
        (
            '[[board]]\nname = "x"\ntemplate = "qemu"\n[[board]]\nname = "x"\ntemplate = "host"',
            "board name 'x' is used twice",
        ),
        ("[[board]\n", "not valid TOML"),
    ],
)
def test_mistakes_are_named(tmp_path: pathlib.Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_missing_file(tmp_path: pathlib.Path) -> None:
    with pytest.raises(InventoryError, match="cannot read the inventory"):
        load_inventory(tmp_path / "none.toml")
