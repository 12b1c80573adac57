"""A real farm on this machine: a head and two nodes joined with the command line, every Ray
process in a private network namespace (loopback only).

Node ``a`` holds two mps2-an386 QEMU boards (label m4); node ``b`` a virt-rv32 (label riscv)
and one more mps2-an386 (label spare). Work must land only where its board is, an absent board
must fail at once, ``farm status`` must show it all, and killing node ``a`` mid-``measure``
must lose no result and record none twice. Every process the test starts is gone at the end.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import sqlite3
import time
from collections.abc import Iterator

import numpy as np
import pytest
from support.data import MLF_DIR
from support.farm_cluster import FarmCluster, Member
from tune import candidates as make
from tune.models import dense_model

from projectapi.farm.ray_node import session_processes

# One cluster for the whole module, its tests in order on one worker (scripts/test.sh runs
# pytest-xdist with --dist loadgroup): the last tests kill nodes the earlier ones use.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("farm-cluster")]

NODE_A = """
[[board]]
name = "an386"
template = "qemu"
count = 2
labels = ["m4"]
[board.options]
board = "mps2-an386"
"""
NODE_B = """
[[board]]
name = "rv32"
template = "qemu"
labels = ["riscv"]
[board.options]
board = "virt-rv32"

[[board]]
name = "an386-b"
template = "qemu"
labels = ["spare"]
[board.options]
board = "mps2-an386"
"""
NODE_C = """
[[board]]
name = "rv32-c"
template = "qemu"
labels = ["builder"]
[board.options]
board = "virt-rv32"
"""
JOB = ["--template", "qemu", "-o", "project_type=aot_standalone", "-o", "icount=true"]


@pytest.fixture(scope="module")
def farm() -> Iterator[FarmCluster]:
    cluster = FarmCluster()
    try:
        cluster.start_head(num_cpus=1)
        cluster.join("a", NODE_A, num_cpus=1)
        cluster.join("b", NODE_B, num_cpus=1)
        yield cluster
    finally:
        left = cluster.close()
    assert left == [], f"processes of the farm outlived it: {left}"


def _archives(farm: FarmCluster, prefix: str, passes: range) -> list[str]:
    return [str(make.good(farm.root / f"{prefix}{p}.tar", passes=p)) for p in passes]


def _measure(farm: FarmCluster, db: str, archives: list[str], *extra: str) -> dict:
    done = farm.run(
        "measure", *archives, *JOB, "--db", db, "--farm", farm.address, *extra, "--json"
    )
    return json.loads(done.stdout)


def _status(farm: FarmCluster) -> dict:
    done = farm.run("farm", "status", farm.address, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["result"]


def _node_of(result: dict) -> str:
    """The node id prefix in a result's board field (``kind/name@host:node``)."""
    return result["board"].rsplit(":", 1)[1]


def test_work_lands_where_its_board_is(farm: FarmCluster) -> None:
    status = _status(farm)
    assert len(status["nodes"]) == 3 and sum(n["head"] for n in status["nodes"]) == 1
    boards = {b["name"]: b for b in status["boards"]}
    assert sorted(boards) == ["an386#0", "an386#1", "an386-b", "rv32"]
    assert {b["state"] for b in boards.values()} == {"idle"}
    node_a, node_b = boards["an386#0"]["node"], boards["rv32"]["node"]
    assert boards["an386#1"]["node"] == node_a and boards["an386-b"]["node"] == node_b != node_a
    by_node = {n["node"]: n["boards"] for n in status["nodes"]}
    assert by_node[node_a] == {"mps2-an386": 2}
    assert by_node[node_b] == {"mps2-an386": 1, "virt-rv32": 1}

    rv = _measure(farm, str(farm.root / "rv.db"), _archives(farm, "rv", range(1, 4)),
                  "-o", "board=virt-rv32")  # fmt: skip
    assert rv["ok"], rv
    assert [r["status"] for r in rv["result"]["results"]] == ["ok"] * 3
    assert {r["board"].split("@")[0] for r in rv["result"]["results"]} == {"virt-rv32/rv32"}
    assert {_node_of(r) for r in rv["result"]["results"]} == {node_b[:8]}

    m4 = _measure(farm, str(farm.root / "m4.db"), _archives(farm, "m4", range(1, 5)),
                  "-o", "board=mps2-an386", "--board-label", "m4")  # fmt: skip
    assert m4["ok"], m4
    results = m4["result"]["results"]
    assert [r["status"] for r in results] == ["ok"] * 4
    assert {_node_of(r) for r in results} == {node_a[:8]}  # the label excludes node b's an386
    times = [r["best_seconds"] for r in results]
    assert times == sorted(times) and times[-1] > times[0]  # more passes, more device time

    after = {b["name"]: b for b in _status(farm)["boards"]}
    assert after["rv32"]["done"] == 3 and after["an386-b"]["done"] == 0
    assert after["an386#0"]["done"] + after["an386#1"]["done"] == 4
    assert {b["state"] for b in after.values()} == {"idle"}


def test_absent_board_fails_at_once(farm: FarmCluster) -> None:
    archives = _archives(farm, "absent", range(1, 2))
    for extra in (["-o", "board=mps2-an385"], ["-o", "board=virt-rv32", "--board-label", "m4"]):
        started = time.monotonic()
        done = farm.run("measure", *archives, *JOB, "--db", str(farm.root / "absent.db"),
                        "--farm", farm.address, *extra)  # fmt: skip
        assert time.monotonic() - started < 30
        assert done.returncode == 1
        assert "no board of the farm qualifies" in done.stderr
        assert "an386#0 (mps2-an386, qemu, labels m4) on 127.0.0.1" in done.stderr
        assert "rv32 (virt-rv32, qemu, labels riscv)" in done.stderr


def test_run_on_a_farm_board(farm: FarmCluster, tmp_path: pathlib.Path) -> None:
    """``run --farm``: a project generated here for virt-rv32 is built and run on node b's
    virt-rv32, the kind of board it was generated for (no ``-o board=`` needed)."""
    model = MLF_DIR / "qnn_dense_int8_aot_c"
    project = tmp_path / "project"
    created = farm.run("create", "-t", "qemu", "-o", "board=virt-rv32",
                       "-o", "project_type=aot_standalone", str(model) + ".tar", str(project))  # fmt: skip
    assert created.returncode == 0, created.stderr
    done = farm.run("run", str(project), "--input", f"x={model}.input.npy", "--farm",
                    farm.address, "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ran on board virt-rv32/rv32@" in done.stderr
    got = json.loads(done.stdout)["result"]["outputs"]["output"]["data"]
    assert got == np.load(f"{model}.output.npy").reshape(-1).tolist()


def test_join_revives_a_dead_agent(farm: FarmCluster) -> None:
    node_b = next(m for m in farm.members if m.log.name == "b.log")
    agents = [
        pid for pid in session_processes(node_b.node_session)
        if pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::BoardAgent")
    ]  # fmt: skip
    assert len(agents) == 2
    os.kill(agents[0], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        names = sorted(b["name"] for b in _status(farm)["boards"])
        if names == ["an386#0", "an386#1", "an386-b", "rv32"] and not _alive(agents[0]):
            break
        assert time.monotonic() < deadline, names
        time.sleep(0.5)
    assert node_b.process.poll() is None


def _alive(pid: int) -> bool:
    return pathlib.Path(f"/proc/{pid}").exists()


def test_a_board_that_keeps_hanging_is_broken(farm: FarmCluster) -> None:
    """rv32 (the only riscv board) hangs on three candidates in a row (each time its QEMU is
    stopped and started afresh): it is marked broken and the last candidate fails at once."""
    reference = make.good(farm.root / "ref.tar")
    hanging = [
        make._write(farm.root / f"hang{p}.tar", make.KERNEL.format(
            passes=p, size=make.SIZE, factor="2.0", extra=make.HANG))
        for p in range(1, 5)
    ]  # fmt: skip
    db = farm.root / "hang.db"
    done = farm.run("measure", *map(str, hanging), *JOB, "--reference", str(reference),
                    "--timeout", "2", "-o", "board=virt-rv32", "--board-label", "riscv", "--db", str(db),
                    "--farm", farm.address)  # fmt: skip
    assert done.returncode == 1
    assert "no qualifying board is left (lost or broken: rv32 (virt-rv32" in done.stderr
    assert [status for _, status, _ in _recorded(db)] == ["hung"] * 3  # the 4th: no board
    rv32 = next(b for b in _status(farm)["boards"] if b["name"] == "rv32")
    assert (rv32["state"], rv32["failed"]) == ("broken", 3)


def test_wrong_token_is_refused(farm: FarmCluster) -> None:
    done = farm.run("farm", "status", farm.address, RAY_AUTH_TOKEN="0" * 32)
    assert done.returncode == 1
    assert "refused this machine's token" in done.stderr


def _recorded(db: pathlib.Path) -> list[tuple[str, str, str]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        try:
            return connection.execute("SELECT key, status, board FROM results").fetchall()
        except sqlite3.OperationalError:  # the job made the file but not yet its table
            return []


def test_tune_on_farm_boards(farm: FarmCluster) -> None:
    """``tune --farm``: every measurement (the kernels' references, the candidates, the whole
    model before and after) on node a's boards, each recorded once; the tuned archive is valid
    and computes what the untuned model does (the command refuses it otherwise)."""
    model, tuned, log = dense_model(farm.root / "dense.onnx"), farm.root / "t.tar", farm.root / "t"
    done = farm.run("tune", str(model), str(tuned), "--target", "cortex-m4", *JOB,
                    "-o", "board=mps2-an386", "--board-label", "m4", "--trials", "4",
                    "--repeat", "2", "--log", str(log), "--farm", farm.address, "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    envelope = json.loads(done.stdout)
    assert envelope["ok"] and envelope["error"] is None
    result = envelope["result"]
    assert result["candidates"] == sum(t["trials"] for t in result["tasks"]) >= 1
    assert all(t["untuned_seconds"] > 0 for t in result["tasks"])
    assert result["tuned_seconds"] > 0 and result["archive"] == str(tuned)
    assert farm.run("mlf", "validate", str(tuned)).returncode == 0

    with sqlite3.connect(log / "measurements.db") as connection:
        rows = connection.execute("SELECT candidate, archive, status, board FROM results")
        digests, archives, statuses, boards = zip(*rows.fetchall(), strict=True)
    assert len(set(digests)) == len(digests)  # every candidate measured once
    folders = [pathlib.Path(a).parent for a in archives]
    assert sum(f.parent.name == "candidates" for f in folders) == result["candidates"]
    assert sum(f.name == "untuned" for f in folders) == len(result["tasks"])
    # The tuned model matched the untuned model's outputs (else it would be wrong_output).
    wholes = [s for s, a in zip(statuses, archives, strict=True) if "/model-" in a]
    assert wholes and set(wholes) == {"ok"}
    node_a = next(b["node"] for b in _status(farm)["boards"] if b["name"] == "an386#0")
    assert {b.split("@")[0] for b in boards} <= {"mps2-an386/an386#0", "mps2-an386/an386#1"}
    assert {b.rsplit(":", 1)[1] for b in boards} == {node_a[:8]}


def _building(member: Member) -> bool:
    """Whether a Ray worker of ``member``'s node is running a build task now."""
    return any(
        pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::build_project")
        for pid in session_processes(member.node_session)
        if _alive(pid)
    )


def test_node_killed_mid_build_loses_nothing(farm: FarmCluster) -> None:
    """A node joins, lends its CPU to the builds and dies while it builds a candidate: that
    build runs again elsewhere (Ray retries a task whose node died; the farm submits a build
    again when its output is lost after it ended) and every candidate is measured once."""
    builder = farm.join("c", NODE_C, num_cpus=1)
    db = farm.root / "rebuild.db"
    archives = _archives(farm, "rebuild", range(1, 11))
    job = farm.popen("measure", *archives, *JOB, "-o", "board=mps2-an386", "--board-label", "m4",
                     "--db", str(db), "--farm", farm.address, "--json")  # fmt: skip
    deadline = time.monotonic() + 120
    while not _building(builder):
        assert time.monotonic() < deadline and job.poll() is None, "no build ran on node c"
        time.sleep(0.05)
    farm.kill(builder)
    out, err = job.communicate(timeout=240)
    assert job.returncode == 0, err
    assert "Task build_project failed" in err  # Ray saw the build die with its node
    rows = _recorded(db)
    assert len(rows) == len({key for key, _, _ in rows}) == 10  # every candidate, once each
    assert {status for _, status, _ in rows} == {"ok"}
    assert json.loads(out)["result"]["measured"] == 10


def test_node_killed_mid_measure_loses_nothing(farm: FarmCluster) -> None:
    """Last in this module: node a does not come back."""
    db = farm.root / "kill.db"
    archives = _archives(farm, "kill", range(1, 13))
    job = farm.popen("measure", *archives, *JOB, "-o", "board=mps2-an386", "--db", str(db),
                     "--farm", farm.address, "--json")  # fmt: skip
    node_a = next(m for m in farm.members if m.log.name == "a.log")
    deadline = time.monotonic() + 120
    while not any("an386#" in row[2] for row in _recorded(db)):
        assert time.monotonic() < deadline and job.poll() is None, job.communicate()
        time.sleep(0.1)
    farm.kill(node_a)
    out, err = job.communicate(timeout=240)
    assert job.returncode == 0, err
    rows = _recorded(db)
    assert len(rows) == len({key for key, _, _ in rows}) == 12  # every candidate, once each
    assert {status for _, status, _ in rows} == {"ok"}
    assert "farm: lost an386#" in err  # a candidate in flight on node a ran again elsewhere
    assert any("an386-b@" in board for _, _, board in rows)
    assert json.loads(out)["result"]["measured"] == 12
