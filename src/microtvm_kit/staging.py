"""Build a project directory beside its final place and move it there only when complete."""

import contextlib
import os
import pathlib
import shutil
import uuid
from typing import Iterator, List, Union


@contextlib.contextmanager
def staged_directory(final_dir: Union[str, "os.PathLike[str]"]) -> Iterator[pathlib.Path]:
    """Yield an empty staging directory that becomes ``final_dir`` when the block succeeds.

    The staging directory is a hidden sibling of ``final_dir`` (same file system, so the final
    rename is atomic). If the block raises, the staging directory and any parent directories
    created for it are removed and the error propagates. An existing ``final_dir`` is refused
    with FileExistsError so a generated project never overwrites anything.
    """
    final = pathlib.Path(os.path.abspath(os.fspath(final_dir)))
    _refuse_existing(final)
    created_parents: List[pathlib.Path] = []
    staging = final.parent / ".{}.{}.partial".format(final.name, uuid.uuid4().hex[:12])
    try:
        _make_parents(final.parent, created_parents)
        staging.mkdir()
        yield staging
        _refuse_existing(final)  # something may have appeared there while we were working
        os.rename(str(staging), str(final))
    except BaseException:
        shutil.rmtree(str(staging), ignore_errors=True)
        for parent in created_parents:
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise


def _refuse_existing(final: pathlib.Path) -> None:
    """Raise FileExistsError naming ``final`` if anything (even a dangling link) is there."""
    if final.exists() or final.is_symlink():
        raise FileExistsError(
            "project directory {} already exists; choose a new path or remove it".format(final)
        )


def _make_parents(parent: pathlib.Path, created: List[pathlib.Path]) -> None:
    """Create ``parent`` and its missing ancestors, recording each in ``created`` deepest first."""
    missing = []
    probe = parent
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir()
        created.insert(0, directory)
