"""Every measured candidate, recorded so a crash loses nothing and a re-run resumes.

SQLite (standard library) in write-ahead-log mode: each result is one committed transaction, so
a process killed at any point leaves every earlier result intact and none half-written; readers
(a progress view, a second process) never block the writer. One row per measurement key (the
candidate's hash with the template, options and time-evaluator settings): recording the same key
again replaces nothing, and a re-run skips the keys already present.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from projectapi.errors import ProjectAPIError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    candidate TEXT NOT NULL,
    archive TEXT NOT NULL,
    board TEXT NOT NULL,
    template TEXT NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL,
    times TEXT NOT NULL,
    sizes TEXT NOT NULL,
    error TEXT NOT NULL,
    seconds TEXT NOT NULL,
    recorded REAL NOT NULL DEFAULT (julianday('now'))
);
CREATE TABLE IF NOT EXISTS reference_outputs (
    key TEXT PRIMARY KEY,
    arrays BLOB NOT NULL
)
"""

OK = "ok"
# Why a candidate has no time: it did not build (or fit), computed something else, stopped
# talking (the program exited), never answered (hung, or a fault handler's endless loop), or
# failed otherwise.
FAILED_STATUSES = ("build_failed", "too_large", "wrong_output", "crashed", "hung", "error")


class DatabaseError(ProjectAPIError):
    """The results file cannot be opened or is not a results database."""


@dataclass(frozen=True)
class MeasureResult:
    """One candidate measured (or failed) on one board.

    ``times`` holds the device seconds per run of each repeat; ``seconds`` the host time each
    step took (generate, build, flash, measure).
    """

    key: str
    candidate: str
    archive: str
    board: str
    template: str
    options: dict[str, Any]
    status: str
    times: tuple[float, ...] = ()
    sizes: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The candidate ran and its outputs matched the reference."""
        return self.status == OK

    @property
    def best(self) -> float | None:
        """Fastest repeat's device seconds per run (None unless ok)."""
        return min(self.times) if self.ok and self.times else None

    @property
    def mean(self) -> float | None:
        """Mean over repeats of device seconds per run (None unless ok)."""
        return sum(self.times) / len(self.times) if self.ok and self.times else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "key": self.key,
            "candidate": self.candidate,
            "archive": self.archive,
            "board": self.board,
            "template": self.template,
            "options": self.options,
            "status": self.status,
            "times": list(self.times),
            "best_seconds": self.best,
            "mean_seconds": self.mean,
            "sizes": self.sizes,
            "error": self.error,
            "seconds": self.seconds,
        }


class ResultDatabase:
    """The results file; use as a context manager (one writer thread)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open (or create) the database at ``path``."""
        self.path = os.fspath(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as error:
            raise DatabaseError(f"{self.path}: not a results database ({error})") from error

    def close(self) -> None:
        """Close the file (everything recorded is already on disk)."""
        self._db.close()

    def __enter__(self) -> ResultDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def record(self, result: MeasureResult) -> bool:
        """Store ``result`` durably; False (and nothing changed) when its key is recorded."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO results (key, candidate, archive, board, template, options, "
            "status, times, sizes, error, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                result.key,
                result.candidate,
                result.archive,
                result.board,
                result.template,
                json.dumps(result.options, sort_keys=True),
                result.status,
                json.dumps(list(result.times)),
                json.dumps(result.sizes, sort_keys=True),
                result.error,
                json.dumps(result.seconds, sort_keys=True),
            ),
        )
        return cursor.rowcount == 1

    def save_arrays(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Keep named arrays (a reference's inputs and outputs) under ``key``, first write wins."""
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        self._db.execute(
            "INSERT OR IGNORE INTO reference_outputs (key, arrays) VALUES (?, ?)",
            (key, buffer.getvalue()),
        )

    def load_arrays(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays kept under ``key``, if any."""
        row = self._db.execute(
            "SELECT arrays FROM reference_outputs WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        with np.load(io.BytesIO(row[0]), allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}

    def get(self, key: str) -> MeasureResult | None:
        """The result recorded under ``key``, if any."""
        rows = list(self._select("WHERE key = ?", (key,)))
        return rows[0] if rows else None

    def results(self) -> list[MeasureResult]:
        """Every result, in the order recorded."""
        return list(self._select("ORDER BY rowid", ()))

    def _select(self, tail: str, params: tuple[Any, ...]) -> Iterator[MeasureResult]:
        query = (
            "SELECT key, candidate, archive, board, template, options, status, times, sizes, "
            f"error, seconds FROM results {tail}"
        )
        for row in self._db.execute(query, params):
            yield MeasureResult(
                key=row[0],
                candidate=row[1],
                archive=row[2],
                board=row[3],
                template=row[4],
                options=json.loads(row[5]),
                status=row[6],
                times=tuple(json.loads(row[7])),
                sizes=json.loads(row[8]),
                error=row[9],
                seconds=json.loads(row[10]),
            )
