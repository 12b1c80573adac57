"""The results database: durable records, one per key, readable after the writer is gone."""

from __future__ import annotations

import pathlib
import sqlite3

import pytest

from microtvm_kit import errors as kit_errors
from projectapi.micro.errors import SessionTimeoutError
from projectapi.standalone import StandaloneError
from projectapi.tune import DatabaseError, MeasureResult, ResultDatabase
from projectapi.tune.measure import classify


def _result(key: str, status: str = "ok", times: tuple[float, ...] = (2e-6, 1e-6)) -> MeasureResult:
    return MeasureResult(
        key=key,
        candidate="c" + key,
        archive=f"/a/{key}.tar",
        board="host#0",
        template="host",
        options={"project_type": "aot_standalone"},
        status=status,
        times=times,
        sizes={"text": 10},
        error="" if status == "ok" else "boom",
        seconds={"build": 1.5},
    )


def test_records_survive_reopening_and_are_never_replaced(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "r.db"
    with ResultDatabase(path) as db:
        assert db.record(_result("k1"))
        assert db.record(_result("k2", "hung", ()))
        assert not db.record(_result("k1", "crashed", ()))  # recorded once, kept as first written
    with ResultDatabase(path) as db:
        first, second = db.results()
    assert first == _result("k1")
    assert (first.best, first.mean) == (1e-6, 1.5e-6)
    assert (second.status, second.best, second.ok) == ("hung", None, False)


def test_uses_a_write_ahead_log(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "r.db"
    with ResultDatabase(path) as db:
        db.record(_result("k1"))
        # Another reader sees the committed row while the writer still has the file open.
        assert sqlite3.connect(path).execute("SELECT count(*) FROM results").fetchone() == (1,)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "r.db"
    path.write_bytes(b"not a database at all, just some text" * 100)
    with pytest.raises(DatabaseError, match=r"r\.db: not a results database"):
        ResultDatabase(path)


def _raised_from(cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException:
            raise StandaloneError("wrapped") from None
    except StandaloneError as error:
        return error


@pytest.mark.parametrize(
    ("cause", "status"),
    [
        (kit_errors.FirmwareTooBigError("too big"), "too_large"),
        (kit_errors.BuildFailedError("cc failed"), "build_failed"),
        (kit_errors.IoTimeoutError("silent"), "hung"),
        (SessionTimeoutError("silent"), "hung"),
        (kit_errors.TransportClosedError("gone"), "crashed"),
        (ValueError("other"), "error"),
    ],
)
def test_failures_are_classified_through_their_chain(cause: BaseException, status: str) -> None:
    assert classify(_raised_from(cause)) == status


def test_reference_arrays_round_trip(tmp_path: pathlib.Path) -> None:
    import numpy as np

    arrays = {"in:x": np.arange(4, dtype=np.float32), "out:output": np.ones((1, 2), np.int8)}
    with ResultDatabase(tmp_path / "r.db") as db:
        assert db.load_arrays("ref") is None
        db.save_arrays("ref", arrays)
    with ResultDatabase(tmp_path / "r.db") as db:
        kept = db.load_arrays("ref")
    assert kept.keys() == arrays.keys()
    for name, array in arrays.items():
        assert kept[name].dtype == array.dtype
        assert np.array_equal(kept[name], array)
