"""Which boards qualify for a job, which one builds for, and the message when none does."""

from __future__ import annotations

import pytest

from projectapi.farm import NoBoardError
from projectapi.farm.selection import (
    BoardInfo,
    Requirement,
    board_kind,
    board_options,
    qualifies,
    select,
    shared_options,
)


def _board(name: str, kind: str, labels: tuple[str, ...] = (), **options: object) -> BoardInfo:
    return BoardInfo(
        agent=f"board/n/{name}", name=name, kind=kind, template="qemu", node="n1",
        host="10.0.0.2", options={"board": kind, **options}, labels=labels,
    )  # fmt: skip


A0 = _board("an386#0", "mps2-an386", ("m4",), serial_number="A0")
A1 = _board("an386#1", "mps2-an386", ("m4",), serial_number="A1")
RV = _board("rv32", "virt-rv32", ("riscv",), icount=True)
FARM = [A0, A1, RV]


def test_board_option_labels_and_template_select() -> None:
    assert select(FARM, Requirement("qemu", {"board": "mps2-an386"})) == [A0, A1]
    assert select(FARM, Requirement("qemu", {}, ("riscv",))) == [RV]
    assert select(FARM, Requirement("/opt/templates/qemu", {"board": "virt-rv32"})) == [RV]
    assert not qualifies(A0, Requirement("host", {}))
    assert not qualifies(RV, Requirement("qemu", {"icount": False}))  # options must agree
    assert qualifies(RV, Requirement("qemu", {"icount": True, "project_type": "aot_standalone"}))


def test_no_board_lists_every_board() -> None:
    with pytest.raises(NoBoardError) as caught:
        select(FARM, Requirement("qemu", {"board": "mps2-an385"}, ("m4",)))
    message = str(caught.value)
    assert "no board of the farm qualifies for template qemu, board=mps2-an385, label m4" in message
    assert "an386#0 (mps2-an386, qemu, labels m4) on 10.0.0.2" in message
    assert "rv32 (virt-rv32, qemu, labels riscv) on 10.0.0.2" in message
    with pytest.raises(NoBoardError, match="none \\(no board has joined\\)"):
        select([], Requirement("qemu", {}))


def test_one_kind_to_build_for() -> None:
    assert board_kind([A0, A1], Requirement("qemu", {})) == "mps2-an386"
    with pytest.raises(NoBoardError, match="2 kinds qualify \\(mps2-an386, virt-rv32\\)"):
        board_kind(FARM, Requirement("qemu", {}))


def test_options_for_building_and_for_each_board() -> None:
    job = {"project_type": "aot_standalone"}
    assert shared_options([A0, A1], job) == {
        "project_type": "aot_standalone",
        "board": "mps2-an386",
    }
    assert board_options(A1, job) == {**job, "board": "mps2-an386", "serial_number": "A1"}
