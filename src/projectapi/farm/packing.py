"""A project directory as bytes and back: how built projects travel through Ray's object store.

Every path a project's server uses is relative to its own directory (the templates find their
build beside their server script), so a project built on one node flashes and runs unpacked in
another directory on another node. A built project travels with only the files its server
says flash and open_transport read (``run_files``): not its sources and build intermediates.
Unpacking goes through the one safe extractor.
"""

from __future__ import annotations

import concurrent.futures
import fnmatch
import functools
import io
import os
import pathlib
import shutil
import tarfile
import tempfile
from collections.abc import Sequence

from microtvm_kit.safe_tar import extract_archive


def pack_directory(
    directory: pathlib.Path,
    skip: tuple[str, ...] = (),
    only: Sequence[str] | None = None,
) -> bytes:
    """An uncompressed tar of ``directory``'s regular files, names relative; the top-level
    entries named in ``skip`` are left out, and with ``only`` (glob patterns, as a built
    project's ``run_files``) every file whose relative path matches none of them."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for root, folders, files in os.walk(directory):
            if pathlib.Path(root) == directory:
                folders[:] = [f for f in folders if f not in skip]
                files = [f for f in files if f not in skip]
            folders.sort()
            for name in sorted(files):
                path = pathlib.Path(root, name)
                arcname = path.relative_to(directory).as_posix()
                if only is not None and not any(fnmatch.fnmatchcase(arcname, p) for p in only):
                    continue
                if path.is_file() and not path.is_symlink():
                    tar.add(path, arcname=arcname, recursive=False)
    return buffer.getvalue()


def unpack_directory(data: bytes, destination: pathlib.Path) -> pathlib.Path:
    """Write the tar ``data`` as the new directory ``destination`` (all or nothing)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".tar", dir=destination.parent) as archive:
        archive.write(data)
        archive.flush()
        extract_archive(archive.name, destination)
    return destination


@functools.cache
def _remover() -> concurrent.futures.ThreadPoolExecutor:
    # One thread per process; Python waits for its queue at exit, so nothing is left behind.
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="remove")


def remove_later(folder: pathlib.Path) -> None:
    """Delete ``folder`` in the background: a finished job's files cost it no time."""
    _remover().submit(shutil.rmtree, folder, ignore_errors=True)
