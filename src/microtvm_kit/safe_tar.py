"""Safe tar extraction: the one way the project unpacks archives, which are always user input.

Model Library Format archives and ``extra_files_tar`` come from users, so every member is checked
before anything is written: absolute paths, ``..`` components, symbolic and hard links, device
files, FIFOs, sparse files, duplicate members and archives expanding past a size or member-count
limit are refused with ``UnsafeArchiveError`` naming the archive, the member and the rule.
Extraction goes to a temporary directory beside the target and is moved into place only when
complete, so a failure leaves nothing behind. Only regular files and directories are created;
permissions are normalised (0644, or 0755 when any execute bit is set).

Standard library only and Python 3.8+ (templates copy this file); it does not rely on
``tarfile``'s extraction filters, which older Pythons lack.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Dict, Iterator, List, Optional, Tuple, Union

from .errors import UnsafeArchiveError

# An MLF for a microcontroller holds a few MB of code and weights (TVM's runtime copy is about
# 1 MB); 256 MiB leaves two orders of magnitude of headroom and still stops a decompression bomb
# long before it fills a disk.
DEFAULT_MAX_TOTAL_BYTES = 256 * 1024 * 1024
# TVM's runtime copy has a few hundred members; 10000 bounds the header-parsing work.
DEFAULT_MAX_MEMBERS = 10000
# Read and write member data in 64 KiB pieces so the byte budget is enforced while copying.
_CHUNK_BYTES = 64 * 1024
# GNU long-name/long-link and PAX extended headers carry their data in the archive; ``tarfile``
# reads that data whole, so its size is checked first. A name longer than PATH_MAX (4096) is
# never a real file name, and a PAX header holding a few such records stays far below 64 KiB.
MAX_EXTENDED_HEADER_BYTES = 64 * 1024
MAX_NAME_CHARS = 4096
# Extended headers may precede one another (GNU long name, then PAX, ...); ``tarfile`` follows
# the chain by recursion, so its length is bounded too.
_MAX_EXTENDED_CHAIN = 8
_EXTENDED_TYPES = (
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
)
# Names in messages are user input: at most this many characters of them are quoted.
_SHOWN_NAME_CHARS = 80
_DRIVE_RE = re.compile(r"^[A-Za-z]:")

PathLike = Union[str, "os.PathLike[str]"]


def shown_name(name: str) -> str:
    """A member name fit for a message: control characters escaped, long names cut short."""
    escaped = "".join(
        ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name[:_SHOWN_NAME_CHARS]
    )
    if len(name) > _SHOWN_NAME_CHARS:
        escaped += f"... ({len(name)} characters)"
    return escaped


class _ExtendedHeaderLimit(ValueError):
    """An extended header broke a size or chain limit (raised inside ``tarfile``'s reader)."""


class _BoundedTarInfo(tarfile.TarInfo):
    """A ``TarInfo`` that checks an extended header's size before ``tarfile`` reads its data."""

    def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type not in _EXTENDED_TYPES:
            return super()._proc_member(tar)  # type: ignore[misc]
        kind = "PAX" if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE) else "GNU long-name"
        if self.size > MAX_EXTENDED_HEADER_BYTES:
            raise _ExtendedHeaderLimit(
                f"a {kind} header of {self.size} bytes (the limit is {MAX_EXTENDED_HEADER_BYTES})"
            )
        depth = getattr(tar, "_extended_depth", 0) + 1
        if depth > _MAX_EXTENDED_CHAIN:
            raise _ExtendedHeaderLimit(f"more than {_MAX_EXTENDED_CHAIN} chained extended headers")
        tar._extended_depth = depth  # type: ignore[attr-defined]
        try:
            return super()._proc_member(tar)  # type: ignore[misc]
        finally:
            tar._extended_depth = depth - 1  # type: ignore[attr-defined]


class _Budget:
    """Counts the bytes actually produced against the archive's size limit."""

    def __init__(self, archive: Path, limit: int) -> None:
        self._archive = archive
        self._limit = limit
        self._used = 0

    def take(self, count: int, name: str) -> None:
        """Account for ``count`` more bytes of member ``name``; refuse past the limit."""
        self._used += count
        if self._used > self._limit:
            raise UnsafeArchiveError(
                f"{self._archive}: member '{shown_name(name)}': archive expands past the limit of "
                f"{self._limit} bytes (tar bomb?)"
            )


def extract_archive(
    archive_path: PathLike,
    dest_dir: PathLike,
    *,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> List[str]:
    """Extract a tar archive (plain, gzip, bz2 or xz) into ``dest_dir`` after checking it all.

    A leading ``./`` on member names is dropped. If ``dest_dir`` does not exist it is created
    atomically (rename of a completed sibling temporary directory); if it exists, the archive's
    files are merged into it, refusing to replace any existing file or to follow a symlink.
    Returns the relative paths of the files written, in archive order.
    """
    archive = Path(archive_path)
    dest = Path(dest_dir).absolute()
    if dest.exists() and not dest.is_dir():
        raise UnsafeArchiveError(f"{archive}: target {dest} exists and is not a directory")
    if not dest.parent.is_dir():
        raise FileNotFoundError(f"parent directory of the extraction target {dest} does not exist")
    with _open(archive) as tar:
        plan = _checked_members(archive, tar, max_total_bytes, max_members)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
        )
        try:
            budget = _Budget(archive, max_total_bytes)
            written = [
                _write_member(archive, tar, name, info, staging, budget) for name, info in plan
            ]
            if dest.exists():
                _merge(archive, staging, dest)
            else:
                staging.chmod(0o755)  # mkdtemp makes it private; the result is an ordinary dir
                os.rename(staging, dest)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return [name for name in written if name is not None]


def read_archive(
    archive_path: PathLike,
    *,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> Dict[str, bytes]:
    """Read every regular file of a checked archive into memory: normalised name -> content.

    The same rules as ``extract_archive`` apply; nothing is written to disk.
    """
    archive = Path(archive_path)
    with _open(archive) as tar:
        plan = _checked_members(archive, tar, max_total_bytes, max_members)
        budget = _Budget(archive, max_total_bytes)
        return {
            name: b"".join(_member_chunks(archive, tar, name, info, budget))
            for name, info in plan
            if info.isreg()
        }


def _open(archive: Path) -> tarfile.TarFile:
    """Open a tar file of any supported compression, or say why it is not one."""
    if not archive.exists():
        raise FileNotFoundError(f"archive not found: {archive}")
    if not archive.is_file():
        raise UnsafeArchiveError(f"{archive}: not a regular file (a tar archive is expected)")
    try:
        return tarfile.open(archive, mode="r:*", tarinfo=_BoundedTarInfo)
    except _ExtendedHeaderLimit as error:
        raise UnsafeArchiveError(f"{archive}: refused: {error}") from None
    except (tarfile.TarError, EOFError, OSError) as error:
        raise UnsafeArchiveError(
            f"{archive}: not a readable tar archive (plain, gzip, bz2 or xz): "
            f"{_why_unreadable(archive)}"
        ) from error


_COMPRESSED_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))


def _why_unreadable(archive: Path) -> str:
    """What is wrong with a file ``tarfile`` cannot open, from its size and first bytes."""
    size = archive.stat().st_size
    if size == 0:
        return "the file is empty"
    with open(archive, "rb") as stream:
        head = stream.read(8)
    for magic, kind in _COMPRESSED_MAGIC:
        if head.startswith(magic):
            return f"a {kind} stream that is truncated, corrupt or holds no tar data"
    if size < tarfile.BLOCKSIZE:
        return f"the file is only {size} bytes, shorter than one tar header (truncated?)"
    return "its first block is not a tar header (not a tar file, or corrupt)"


def _normalise(archive: Path, raw: str) -> Optional[str]:
    """Return the member's path relative to the target (None for the root) or refuse it."""
    if len(raw) > MAX_NAME_CHARS:
        raise UnsafeArchiveError(
            f"{archive}: member '{shown_name(raw)}': name longer than {MAX_NAME_CHARS} characters"
        )
    if "\x00" in raw:
        raise UnsafeArchiveError(
            f"{archive}: member '{shown_name(raw)}': NUL character in the name"
        )
    if raw.startswith(("/", "\\")) or _DRIVE_RE.match(raw):
        raise UnsafeArchiveError(f"{archive}: member '{shown_name(raw)}': absolute path")
    if "\\" in raw:
        raise UnsafeArchiveError(f"{archive}: member '{shown_name(raw)}': backslash in the name")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(
            f"{archive}: member '{shown_name(raw)}': '..' component (path traversal outside the target)"
        )
    return "/".join(parts) or None


def _refuse_type(archive: Path, info: tarfile.TarInfo) -> None:
    """Refuse every member that is not a plain regular file or a directory."""
    rule = None
    if info.issym():
        rule = f"symbolic link to '{shown_name(info.linkname)}' (links are not allowed)"
    elif info.islnk():
        rule = f"hard link to '{shown_name(info.linkname)}' (links are not allowed)"
    elif info.ischr() or info.isblk():
        rule = "device file (devices are not allowed)"
    elif info.isfifo():
        rule = "FIFO (named pipes are not allowed)"
    elif info.issparse():
        rule = "sparse file (not supported)"
    elif not (info.isreg() or info.isdir()):
        rule = f"unsupported member type {info.type!r}"
    if rule is not None:
        raise UnsafeArchiveError(f"{archive}: member '{shown_name(info.name)}': {rule}")


def _checked_members(
    archive: Path, tar: tarfile.TarFile, max_total_bytes: int, max_members: int
) -> List[Tuple[str, tarfile.TarInfo]]:
    """Read and check every header before any data is written; returns (name, info) pairs."""
    files: Dict[str, str] = {}  # normalised name -> "file" or "dir" (declared or implied)
    seen = set()
    plan: List[Tuple[str, tarfile.TarInfo]] = []
    declared = 0
    try:
        for count, info in enumerate(tar, start=1):
            if count > max_members:
                raise UnsafeArchiveError(f"{archive}: more than {max_members} members")
            name = _normalise(archive, info.name)
            _refuse_type(archive, info)
            if name is None:
                if not info.isdir():
                    raise UnsafeArchiveError(
                        f"{archive}: member '{shown_name(info.name)}': root is not a directory"
                    )
                continue
            if name in seen:
                raise UnsafeArchiveError(
                    f"{archive}: member '{shown_name(info.name)}': duplicate member (appears more than once)"
                )
            seen.add(name)
            _claim(archive, files, name, "dir" if info.isdir() else "file", info.name)
            if info.isreg():
                declared += info.size
                if declared > max_total_bytes:
                    raise UnsafeArchiveError(
                        f"{archive}: member '{shown_name(info.name)}': archive expands past the limit of "
                        f"{max_total_bytes} bytes (tar bomb?)"
                    )
            plan.append((name, info))
        _require_end_marker(archive, tar)
    except _ExtendedHeaderLimit as error:
        raise UnsafeArchiveError(f"{archive}: refused: {error}") from None
    except (tarfile.TarError, EOFError, OSError) as error:
        raise UnsafeArchiveError(f"{archive}: truncated or corrupt archive: {error}") from error
    return plan


def _require_end_marker(archive: Path, tar: tarfile.TarFile) -> None:
    """Refuse an archive cut inside a header: ``tarfile`` reads that as a normal end."""
    fileobj = tar.fileobj
    if fileobj is None:
        return
    fileobj.seek(tar.offset)
    marker = fileobj.read(tarfile.BLOCKSIZE)
    if len(marker) < tarfile.BLOCKSIZE or marker.count(0) != tarfile.BLOCKSIZE:
        raise UnsafeArchiveError(
            f"{archive}: truncated or corrupt archive: no end-of-archive block after the last "
            f"complete member (at byte {tar.offset})"
        )


def _claim(archive: Path, kinds: Dict[str, str], name: str, kind: str, raw: str) -> None:
    """Record ``name`` and its parent directories; refuse a file where a directory is needed."""
    parts = name.split("/")
    for depth in range(1, len(parts)):
        parent = "/".join(parts[:depth])
        if kinds.setdefault(parent, "dir") != "dir":
            raise UnsafeArchiveError(
                f"{archive}: member '{shown_name(raw)}': its parent '{shown_name(parent)}' is a file"
            )
    if kinds.get(name, kind) != kind:
        raise UnsafeArchiveError(
            f"{archive}: member '{shown_name(raw)}': declared as a file but other members put files inside it"
        )
    kinds[name] = kind


def _member_chunks(
    archive: Path, tar: tarfile.TarFile, name: str, info: tarfile.TarInfo, budget: _Budget
) -> Iterator[bytes]:
    """Yield a regular member's data, counting every byte and turning read errors into refusals."""
    try:
        source: Optional[IO[bytes]] = tar.extractfile(info)
        remaining = info.size
        while source is not None and remaining > 0:
            chunk = source.read(min(_CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            budget.take(len(chunk), name)
            yield chunk
    except (tarfile.TarError, EOFError, OSError) as error:
        raise UnsafeArchiveError(
            f"{archive}: member '{shown_name(info.name)}': truncated or corrupt data: {error}"
        ) from error
    if remaining > 0:
        raise UnsafeArchiveError(
            f"{archive}: member '{shown_name(info.name)}': truncated data ({remaining} bytes missing)"
        )


def _write_member(
    archive: Path,
    tar: tarfile.TarFile,
    name: str,
    info: tarfile.TarInfo,
    staging: Path,
    budget: _Budget,
) -> Optional[str]:
    """Create one checked member inside ``staging``; returns its name if it is a file."""
    target = staging.joinpath(*name.split("/"))
    if os.path.commonpath([os.path.realpath(target.parent), os.path.realpath(staging)]) != str(
        os.path.realpath(staging)
    ):
        raise UnsafeArchiveError(
            f"{archive}: member '{shown_name(info.name)}': resolves outside the target"
        )
    if info.isdir():
        target.mkdir(parents=True, exist_ok=True)
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:
        for chunk in _member_chunks(archive, tar, name, info, budget):
            out.write(chunk)
    os.chmod(target, 0o755 if info.mode & 0o111 else 0o644)
    return name


def _merge(archive: Path, staging: Path, dest: Path) -> None:
    """Move the staged tree into an existing directory, all or nothing, never overwriting."""
    dirs: List[Path] = []
    files: List[Tuple[Path, Path]] = []
    for root, dir_names, file_names in os.walk(staging):
        relative = Path(root).relative_to(staging)
        for dir_name in sorted(dir_names):
            target = dest / relative / dir_name
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                raise UnsafeArchiveError(
                    f"{archive}: member '{shown_name((relative / dir_name).as_posix())}': the target "
                    f"{target} exists and is not a plain directory"
                )
            dirs.append(target)
        for file_name in sorted(file_names):
            target = dest / relative / file_name
            if os.path.lexists(target):
                raise UnsafeArchiveError(
                    f"{archive}: member '{shown_name((relative / file_name).as_posix())}': would overwrite "
                    f"the existing {target}"
                )
            files.append((Path(root) / file_name, target))
    created: List[Path] = []
    try:
        for directory in dirs:
            if not directory.exists():
                directory.mkdir()
                created.append(directory)
        for source, target in files:
            os.replace(source, target)
            created.append(target)
    except BaseException:
        for path in reversed(created):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                path.unlink()
        raise
