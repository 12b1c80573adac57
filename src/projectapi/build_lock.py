"""One build of a project at a time: concurrent builders of the same project wait their turn."""

from __future__ import annotations

import contextlib
import pathlib
import sys
from collections.abc import Iterator

from filelock import FileLock, Timeout

LOCK_NAME = ".projectapi-build.lock"


@contextlib.contextmanager
def project_build_lock(project_dir: pathlib.Path) -> Iterator[None]:
    """Hold the project's build lock; say so on stderr when another build holds it first."""
    lock = FileLock(str(project_dir / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(
            f"waiting for another build of {project_dir} to finish (lock {lock.lock_file})",
            file=sys.stderr,
            flush=True,
        )
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
