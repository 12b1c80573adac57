"""``projectapi measure`` killed mid-run (SIGKILL) and run again: nothing recorded is lost or
measured twice, and nothing it started keeps running."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from . import candidates as make

pytestmark = pytest.mark.slow

COUNT = 6


def _rows(db: pathlib.Path) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        try:
            return connection.execute("SELECT * FROM results ORDER BY rowid").fetchall()
        except sqlite3.OperationalError:  # the table is not made yet
            return []


def _command(archives: list[pathlib.Path], db: pathlib.Path) -> list[str]:
    return [
        sys.executable, "-m", "projectapi", "measure", *map(str, archives),
        "-t", "host", "-o", "project_type=aot_standalone", "--db", str(db), "--repeat", "1",
        "--json",
    ]  # fmt: skip


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(cmdline)
    return found


def test_killed_run_resumes_without_loss_or_repeat(tmp_path: pathlib.Path) -> None:
    archives = [make.good(tmp_path / f"c{n}.tar", passes=n + 1) for n in range(COUNT)]
    db = tmp_path / "r.db"
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "TMPDIR": str(work)}
    first = subprocess.Popen(
        _command(archives, db), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while len(_rows(db)) < 2 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = _rows(db)
    assert 2 <= len(before) < COUNT, "the run was not killed mid-way"

    for _ in range(100):  # servers and programs notice their client is gone and stop
        if not _processes_mentioning(str(work)):
            break
        time.sleep(0.1)
    assert _processes_mentioning(str(work)) == []

    second = subprocess.run(_command(archives, db), env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    result = json.loads(second.stdout)["result"]
    after = _rows(db)
    assert after[: len(before)] == before  # what was recorded is kept as it was
    assert result["measured"] == COUNT - len(before)  # only the rest is measured
    assert len({row[0] for row in after}) == len(after) == COUNT
    assert {r["status"] for r in result["results"]} == {"ok"}
