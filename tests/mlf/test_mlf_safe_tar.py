"""Safe extraction: hostile archives are refused with their own message and leave nothing behind."""

from __future__ import annotations

import ast
import gzip
import os
import sys
import tarfile
from pathlib import Path

import pytest

from microtvm_kit import safe_tar
from microtvm_kit.safe_tar import (
    UnsafeArchiveError,
    extract_archive,
    read_archive,
)
from projectapi import mlf

from .mlf_testlib import files_tar, member, write_tar


def _listing(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*")}


def test_extracts_regular_files_and_directories(tmp_path: Path) -> None:
    archive = write_tar(
        tmp_path / "ok.tar",
        [
            member("./", kind=tarfile.DIRTYPE),
            member("./src/", kind=tarfile.DIRTYPE),
            member("./src/a.c", b"int a;\n"),
            member("./deep/er/b.txt", b"b"),  # parents not listed: created on the way
        ],
    )
    written = extract_archive(archive, tmp_path / "out")
    assert written == ["src/a.c", "deep/er/b.txt"]
    assert (tmp_path / "out" / "src" / "a.c").read_bytes() == b"int a;\n"
    assert (tmp_path / "out" / "deep" / "er" / "b.txt").read_bytes() == b"b"
    assert _listing(tmp_path) == {"ok.tar", "out", "out/src", "out/src/a.c", "out/deep",
                                  "out/deep/er", "out/deep/er/b.txt"}  # fmt: skip


@pytest.mark.parametrize("prefix", ["./", ""])
@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_reads_prefixed_and_plain_names_plain_and_gzip(
    tmp_path: Path, prefix: str, mode: str
) -> None:
    archive = files_tar(tmp_path / "a.tar", {"x/y.txt": b"hello"}, prefix=prefix, mode=mode)
    assert read_archive(archive) == {"x/y.txt": b"hello"}


def test_permissions_are_normalised(tmp_path: Path) -> None:
    archive = write_tar(
        tmp_path / "modes.tar",
        [member("setuid", b"x", mode=0o4777), member("private", b"y", mode=0o600)],
    )
    extract_archive(archive, tmp_path / "out")
    assert (tmp_path / "out" / "setuid").stat().st_mode & 0o7777 == 0o755
    assert (tmp_path / "out" / "private").stat().st_mode & 0o7777 == 0o644
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755


_OUTSIDE = "outside.txt"

HOSTILE = {
    "traversal": ([member(f"../{_OUTSIDE}", b"evil")], "'..' component"),
    "nested traversal": ([member(f"a/../../{_OUTSIDE}", b"evil")], "'..' component"),
    "absolute path": ([member(f"/tmp/{_OUTSIDE}", b"evil")], "absolute path"),
    "backslash": ([member(f"..\\{_OUTSIDE}", b"evil")], "backslash"),
    "symlink": (
        [member("link", kind=tarfile.SYMTYPE, linkname="/etc/passwd")],
        "symbolic link to '/etc/passwd'",
    ),
    "hard link": (
        [member("a.txt", b"a"), member("b.txt", kind=tarfile.LNKTYPE, linkname="a.txt")],
        "hard link to 'a.txt'",
    ),
    "character device": ([member("tty", kind=tarfile.CHRTYPE, devmajor=5)], "device file"),
    "block device": ([member("sda", kind=tarfile.BLKTYPE, devmajor=8)], "device file"),
    "fifo": ([member("pipe", kind=tarfile.FIFOTYPE)], "FIFO"),
    "duplicate": ([member("a.txt", b"1"), member("a.txt", b"2")], "duplicate member"),
    "duplicate after ./": ([member("a.txt", b"1"), member("./a.txt", b"2")], "duplicate member"),
    "file used as directory": (
        [member("a", b"file"), member("a/b", b"inside")],
        "its parent 'a' is a file",
    ),
    "directory declared as file": (
        [member("a/b", b"inside"), member("a", b"file")],
        "declared as a file",
    ),
    "pax path traversal": (
        [member("harmless", b"evil", pax_headers={"path": f"../{_OUTSIDE}"})],
        "'..' component",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_is_refused_and_leaves_nothing(tmp_path: Path, case: str) -> None:
    members, message = HOSTILE[case]
    work = tmp_path / "work"
    work.mkdir()
    archive = write_tar(tmp_path / "hostile.tar", [member("ok.txt", b"fine"), *members])
    with pytest.raises(UnsafeArchiveError, match=message) as raised:
        extract_archive(archive, work / "out")
    assert str(archive) in str(raised.value)
    assert _listing(work) == set()  # no target, no staging directory
    assert _listing(tmp_path) == {"work", "hostile.tar"}  # nothing written beside or above
    with pytest.raises(UnsafeArchiveError, match=message):
        read_archive(archive)
    with pytest.raises(mlf.MLFError, match=message):  # the same refusal as a user error
        mlf.open(archive)


def test_tar_bomb_is_refused_before_writing(tmp_path: Path) -> None:
    # 4 MiB of zeros compresses to a few KiB; the limit is 1 MiB.
    archive = files_tar(tmp_path / "bomb.tar.gz", {"zeros.bin": bytes(4 << 20)}, mode="w:gz")
    assert archive.stat().st_size < 64 * 1024
    with pytest.raises(UnsafeArchiveError, match="expands past the limit of 1048576 bytes"):
        extract_archive(archive, tmp_path / "out", max_total_bytes=1 << 20)
    assert _listing(tmp_path) == {"bomb.tar.gz"}


def test_many_small_members_add_up_past_the_limit(tmp_path: Path) -> None:
    archive = files_tar(tmp_path / "many.tar", {f"f{i}": bytes(400) for i in range(10)})
    with pytest.raises(UnsafeArchiveError, match=r"member '\./f5': archive expands past"):
        read_archive(archive, max_total_bytes=2000)


def test_too_many_members(tmp_path: Path) -> None:
    archive = files_tar(tmp_path / "many.tar", {f"f{i}": b"" for i in range(5)})
    with pytest.raises(UnsafeArchiveError, match="more than 3 members"):
        extract_archive(archive, tmp_path / "out", max_members=3)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("keep", [100, 700, 1600, "inside the last member"])
def test_truncated_archive_is_refused(tmp_path: Path, keep: int | str) -> None:
    full = files_tar(tmp_path / "full.tar", {"a.bin": bytes(range(256)) * 4, "b.txt": b"b" * 600})
    data = full.read_bytes()
    end = data.index(b"b" * 600) + 300 if isinstance(keep, str) else keep
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[:end])
    with pytest.raises(UnsafeArchiveError, match=r"truncated|not a readable tar"):
        extract_archive(cut, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_truncated_gzip_is_refused(tmp_path: Path) -> None:
    full = files_tar(tmp_path / "full.tar", {"a.bin": os.urandom(50_000)})
    packed = gzip.compress(full.read_bytes())
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(UnsafeArchiveError, match="truncated or corrupt"):
        read_archive(cut)


def test_not_a_tar_and_missing_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not an archive" * 100)
    with pytest.raises(UnsafeArchiveError, match="not a readable tar archive"):
        extract_archive(junk, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="archive not found"):
        read_archive(tmp_path / "absent.tar")


def test_merges_into_existing_directory_without_overwriting(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.c").write_text("main")
    archive = files_tar(tmp_path / "extra.tar", {"src/extra.c": b"extra", "new/x.h": b"x"})
    assert extract_archive(archive, project) == ["src/extra.c", "new/x.h"]
    assert (project / "src" / "main.c").read_text() == "main"
    assert (project / "src" / "extra.c").read_text() == "extra"
    assert (project / "new" / "x.h").read_text() == "x"


def test_merge_refuses_to_overwrite_and_changes_nothing(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "keep.txt").write_text("original")
    archive = files_tar(tmp_path / "extra.tar", {"a/new.txt": b"new", "keep.txt": b"replaced"})
    with pytest.raises(UnsafeArchiveError, match=r"member 'keep\.txt': would overwrite"):
        extract_archive(archive, project)
    assert _listing(project) == {"keep.txt"}
    assert (project / "keep.txt").read_text() == "original"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_merge_never_follows_a_symlink_in_the_target(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    (project / "src").symlink_to(outside, target_is_directory=True)
    archive = files_tar(tmp_path / "extra.tar", {"src/evil.c": b"evil"})
    with pytest.raises(UnsafeArchiveError, match="exists and is not a plain directory"):
        extract_archive(archive, project)
    assert list(outside.iterdir()) == []


def test_target_that_is_a_file_is_refused(tmp_path: Path) -> None:
    archive = files_tar(tmp_path / "a.tar", {"a": b"a"})
    (tmp_path / "out").write_text("file")
    with pytest.raises(UnsafeArchiveError, match="exists and is not a directory"):
        extract_archive(archive, tmp_path / "out")


_READER_MODULES = [
    Path(safe_tar.__file__),
    *sorted((Path(safe_tar.__file__).parent / "archive").glob("*.py")),
]


@pytest.mark.parametrize("path", _READER_MODULES, ids=lambda path: path.name)
def test_kit_reader_is_python38_standard_library_only(path: Path) -> None:
    source = path.read_text()
    tree = ast.parse(source, feature_version=(3, 8))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0  # level > 0: the kit itself
    }
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
    assert "filter=" not in source  # tarfile extraction filters exist only on newer Pythons
