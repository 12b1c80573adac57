"""The pure state machines: a board's health as its agent keeps it, and the driver's pool of
free, busy and lost boards."""

from __future__ import annotations

import threading

import pytest

from projectapi.farm import NoBoardError
from projectapi.farm.agent_pool import AgentPool
from projectapi.farm.health import BROKEN, BUSY, IDLE, BoardHealth


def test_failures_in_a_row_break_a_board() -> None:
    health = BoardHealth(limit=2)
    for status in ("hung", "ok", "crashed", "wrong_output", "build_failed"):
        health.start()
        assert health.state == BUSY
        health.finish(status)
        assert health.state == IDLE  # a good run or a candidate's own fault clears the count
    health.start()
    health.finish("hung")
    assert health.state == IDLE
    health.start()
    health.finish("error")
    assert health.snapshot() == {"state": BROKEN, "done": 7, "failed": 4}
    with pytest.raises(RuntimeError, match="board is broken"):
        health.start()


def test_a_busy_board_takes_no_second_job() -> None:
    health = BoardHealth()
    health.start()
    with pytest.raises(RuntimeError, match="board is busy"):
        health.start()


def test_pool_hands_out_free_boards_and_drops_lost_ones() -> None:
    pool = AgentPool(["a", "b"])
    first, second = pool.acquire(), pool.acquire()
    assert {first, second} == {"a", "b"}
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire()))
    waiter.start()
    pool.lost(first)  # its job goes elsewhere; the waiter still waits for a board
    waiter.join(0.2)
    assert waiter.is_alive()
    pool.release(second)
    waiter.join(5)
    assert got == [second] and pool.usable() == 1


def test_pool_fails_waiters_when_no_board_is_left() -> None:
    pool = AgentPool(["a", "b"], describe=str.upper)
    a, b = pool.acquire(), pool.acquire()
    errors: list[Exception] = []

    def wait_for_board() -> None:
        try:
            pool.acquire()
        except NoBoardError as error:
            errors.append(error)

    waiter = threading.Thread(target=wait_for_board)
    waiter.start()
    pool.release(a, broken=True)
    pool.lost(b)
    waiter.join(5)
    assert [str(e) for e in errors] == [
        "no qualifying board is left (lost or broken: A broken; B lost)"
    ]


def test_what_a_ray_error_means_for_the_farm() -> None:
    import ray  # the farm extra, installed by scripts/install-deps.sh

    from projectapi.farm.agent import BoardBrokenError
    from projectapi.farm.measurer import BROKEN_BOARD, LOST_AGENT, LOST_BUILD, failure_kind

    exceptions = ray.exceptions
    lost_object = exceptions.ObjectLostError("00" * 28, "owner", "call site")
    assert failure_kind(ray, lost_object) == LOST_BUILD
    assert failure_kind(ray, exceptions.ActorDiedError()) == LOST_AGENT
    assert failure_kind(ray, exceptions.ActorUnavailableError("gone", None)) == LOST_AGENT
    wrapped = exceptions.RayTaskError("measure", "traceback", BoardBrokenError("rv32 is broken"))
    assert failure_kind(ray, wrapped) == BROKEN_BOARD
    bug = exceptions.RayTaskError("measure", "traceback", ValueError("a bug"))
    assert failure_kind(ray, bug) is None
