"""The members of a model archive, from a tar file or an extracted directory, within limits.

A tar goes through ``safe_tar.read_archive`` (unsafe members refused); a directory is walked
with the same limits on member count and total size, checked from each file's size before it is
read, and links or special files are refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Union

from ..safe_tar import (
    DEFAULT_MAX_MEMBERS,
    DEFAULT_MAX_TOTAL_BYTES,
    UnsafeArchiveError,
    read_archive,
    shown_name,
)
from .errors import ArchiveFormatError

PathLike = Union[str, "os.PathLike[str]"]


def read_model_files(
    path: PathLike,
    *,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> Dict[str, bytes]:
    """Every regular file of an archive or extracted directory: relative name -> content."""
    location = Path(path)
    if location.is_dir():
        return read_tree(location, max_total_bytes=max_total_bytes, max_members=max_members)
    if not location.exists():
        raise ArchiveFormatError(f"{location}: no such archive or directory")
    try:
        return read_archive(location, max_total_bytes=max_total_bytes, max_members=max_members)
    except UnsafeArchiveError as error:
        raise ArchiveFormatError(str(error)) from None


def read_tree(
    root: Path,
    *,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> Dict[str, bytes]:
    """Every regular file below ``root``; refuses links, special files and trees past the limits."""
    sizes: Dict[Path, int] = {}
    total = 0
    for folder, dirs, names in os.walk(root):
        for name in sorted(dirs + names):
            path = Path(folder) / name
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                raise ArchiveFormatError(
                    f"{root}: '{shown_name(str(path.relative_to(root)))}': not a regular file "
                    "or directory (links and special files are not allowed)"
                )
            if path.is_dir():
                continue
            sizes[path] = path.stat().st_size
            total += sizes[path]
            if len(sizes) > max_members:
                raise ArchiveFormatError(f"{root}: more than {max_members} files")
            if total > max_total_bytes:
                raise ArchiveFormatError(
                    f"{root}: files add up to more than the limit of {max_total_bytes} bytes"
                )
    return {
        path.relative_to(root).as_posix(): _read_exactly(path, size) for path, size in sizes.items()
    }


def _read_exactly(path: Path, size: int) -> bytes:
    """At most the size seen when the tree was checked (a file growing since is cut there)."""
    with open(path, "rb") as stream:
        return stream.read(size)
