"""Hostile archives, small on disk: refused by ``mlf.validate`` and by ``projectapi create`` (even
with the echo template, which only copies the archive) with one short message naming the file
and the problem, within bounded memory."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from microtvm_kit.archive import ArchiveFormatError, file_stems, is_plain_name, safe_file_stem
from microtvm_kit.archive.files import read_model_files
from microtvm_kit.safe_tar import MAX_EXTENDED_HEADER_BYTES
from projectapi import mlf
from projectapi.cli import main

from .mlf_testlib import (
    SHARED_ARCHIVES,
    SHARED_MLF,
    files_tar,
    member,
    metadata_of,
    shared_files,
    with_metadata,
    write_tar,
)

_HUGE = 64 << 20  # an extended header 1000 times the limit; 1 GiB behaves the same, only slower
_GOOD = "qnn_dense_int8_aot_c"


def _extended_header(path: Path, kind: bytes, payload_byte: bytes, size: int) -> Path:
    """A gzip tar whose first header is a GNU long-name or PAX header of ``size`` data bytes,
    streamed so that neither the test nor the file holds it whole."""
    header = tarfile.TarInfo("././@LongLink" if kind == tarfile.GNUTYPE_LONGNAME else "pax")
    header.type, header.size = kind, size
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(header.tobuf(format=tarfile.GNU_FORMAT if kind != tarfile.XHDTYPE else 0))
        chunk = payload_byte * (1 << 20)
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(b"\0" * (-size % tarfile.BLOCKSIZE))
        out.write(b"\0" * (2 * tarfile.BLOCKSIZE))
    return path


def _truncated(path: Path) -> Path:
    data = files_tar(path, shared_files(_GOOD)).read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])
    return path


def _declared_bomb(path: Path) -> Path:
    """A header declaring 1 GiB of data (a bomb is refused from its headers, before reading)."""
    info = tarfile.TarInfo("zeros.bin")
    info.size = 1 << 30
    path.write_bytes(info.tobuf() + b"\0" * 4 * tarfile.BLOCKSIZE)
    return path


def _deep_metadata(path: Path) -> Path:
    files = {**shared_files(_GOOD), "metadata.json": b"[" * 100_000 + b"]" * 100_000}
    return files_tar(path, files)


def _tensor_named(name: str) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        files = shared_files(_GOOD)
        metadata = metadata_of(files)
        main_entry = metadata["modules"]["default"]["memory"]["functions"]["main"][0]
        main_entry["outputs"] = {name: main_entry["outputs"].popitem()[1]}
        return files_tar(path, with_metadata(files, metadata))

    return build


def _model_named(name: str) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        files = shared_files(_GOOD)
        metadata = metadata_of(files)
        metadata["modules"] = {name: metadata["modules"].pop("default")}
        return files_tar(path, with_metadata(files, metadata))

    return build


def _members(*members: tuple) -> Callable[[Path], Path]:
    return lambda path: write_tar(path, [member("ok.txt", b"fine"), *members])


def _not_a_tar(path: Path) -> Path:
    path.write_bytes(b"this is not an archive\n" * 100)
    return path


# kind -> (builder of the archive at a path, regex of the problem in the message)
HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "not a tar": (_not_a_tar, r"not a readable tar archive .*not a tar header"),
    "empty file": (lambda p: (p.write_bytes(b""), p)[1], r"not a readable tar .*file is empty"),
    "truncated": (_truncated, r"truncated"),
    "traversal": (_members(member("../outside.txt", b"evil")), r"'\.\.' component"),
    "absolute path": (_members(member("/tmp/outside.txt", b"evil")), r"absolute path"),
    "symlink": (
        _members(member("link", kind=tarfile.SYMTYPE, linkname="/etc/passwd")),
        r"symbolic link",
    ),
    "hard link": (
        _members(member("b.txt", kind=tarfile.LNKTYPE, linkname="ok.txt")),
        r"hard link",
    ),
    "device": (_members(member("tty", kind=tarfile.CHRTYPE, devmajor=5)), r"device file"),
    "bomb": (_declared_bomb, r"expands past the limit of \d+ bytes \(tar bomb\?\)"),
    "no metadata": (lambda p: files_tar(p, {"codegen/host/src/a.c": b"int a;"}), r"missing"),
    "GNU long name of 64 MiB": (
        lambda p: _extended_header(p, tarfile.GNUTYPE_LONGNAME, b"a", _HUGE),
        rf"GNU long-name header of {_HUGE} bytes \(the limit is {MAX_EXTENDED_HEADER_BYTES}\)",
    ),
    "PAX header of 64 MiB": (
        lambda p: _extended_header(p, tarfile.XHDTYPE, b"a", _HUGE),
        rf"PAX header of {_HUGE} bytes",
    ),
    "name of 5000 characters": (
        _members(member("d/" * 2500 + "x", b"x")),
        r"'(d/){40}\.\.\. \(5001 characters\)': name longer than 4096",
    ),
    "metadata nested 100000 deep": (_deep_metadata, r"metadata\.json: JSON nested too deeply"),
    "output named ../../x": (_tensor_named("../../x"), r"output '\.\./\.\./x': not a plain name"),
    "output named /tmp/x": (_tensor_named("/tmp/x"), r"output '/tmp/x': not a plain name"),
    "model name of 100000 characters": (
        _model_named("m" * 100_000),
        r"model name 'm{80}\.\.\. \(100000 characters\)' is not usable in C symbols",
    ),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every hostile archive, built once."""
    folder = tmp_path_factory.mktemp("hostile")
    return {
        kind: build(folder / f"{i}.tar") for i, (kind, (build, _)) in enumerate(HOSTILE.items())
    }


def _assert_short_and_clean(message: str, archive: Path) -> None:
    assert str(archive) in message
    assert len(message) < 600, message[:600]
    assert all(ch.isprintable() or ch == "\n" for ch in message), repr(message[:200])


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_validate_refuses_with_a_short_message_naming_file_and_problem(
    corpus: dict[str, Path], kind: str
) -> None:
    archive = corpus[kind]
    assert archive.stat().st_size < 1 << 20  # small on disk, whatever it claims
    with pytest.raises(mlf.MLFError, match=HOSTILE[kind][1]) as raised:
        mlf.validate(archive)
    _assert_short_and_clean(str(raised.value), archive)
    assert "ReadError" not in str(raised.value)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_create_with_the_echo_template_refuses_before_launching_it(
    corpus: dict[str, Path], kind: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    archive = corpus[kind]
    status = main(["create", str(archive), str(tmp_path / "project"), "--template", "echo"])
    _out, err = capfd.readouterr()
    assert status == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors and str(archive) in errors[0], err[:600]
    assert "Project API" not in err  # refused by the archive check, not by a template
    assert len(err) < 2000
    assert not (tmp_path / "project").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["GNU long name of 64 MiB", "PAX header of 64 MiB"])
def test_extended_headers_are_refused_in_bounded_memory(corpus: dict[str, Path], kind: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(mlf.MLFError):
            mlf.open(corpus[kind])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak} bytes while refusing a {_HUGE}-byte header"


def test_a_chain_of_extended_headers_is_bounded(tmp_path: Path) -> None:
    stream = io.BytesIO()
    for i in range(20):
        stream.write(tarfile.TarInfo("x" * 200 + str(i)).tobuf(format=tarfile.GNU_FORMAT)[:-512])
    stream.write(tarfile.TarInfo("last").tobuf() + b"\0" * 1024)
    archive = tmp_path / "chain.tar"
    archive.write_bytes(stream.getvalue())
    with pytest.raises(mlf.MLFError, match="more than 8 chained extended headers"):
        mlf.open(archive)


def test_long_names_are_cut_and_escaped_in_messages(tmp_path: Path) -> None:
    name = "\x1b[2J" + "evil/" * 300 + "x"
    archive = write_tar(tmp_path / "a.tar", [member(name, kind=tarfile.SYMTYPE, linkname="/")])
    with pytest.raises(mlf.MLFError) as raised:
        mlf.open(archive)
    message = str(raised.value)
    assert "\x1b" not in message and "\\x1b[2J" in message
    assert f"... ({len(name)} characters)" in message and len(message) < 400


def test_a_directory_is_read_within_limits(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "metadata.json").write_text("{}")
    huge = tree / "huge.bin"
    with open(huge, "wb") as sparse:  # 1 TiB that takes no disk: refused from its size
        sparse.truncate(1 << 40)
    with pytest.raises(mlf.MLFError, match=r"add up to more than the limit of \d+ bytes"):
        mlf.open(tree)
    huge.unlink()
    for i in range(5):
        (tree / f"f{i}").write_bytes(b"x")
    with pytest.raises(ArchiveFormatError, match="more than 3 files"):
        read_model_files(tree, max_members=3)
    os.symlink("/etc/passwd", tree / "link")
    with pytest.raises(mlf.MLFError, match=r"'link': not a regular file or directory"):
        mlf.open(tree)


def test_validate_accepts_plain_names_and_safe_stems_stay_in_their_folder() -> None:
    for name in ("Input3", "serving_default_x:0", "output", "a.b-c_1"):
        assert is_plain_name(name)
    for name in ("/tmp/x", "../../x", "", "a/b", "x\x00", "-" + "x" * 200, "..", "a..b"):
        assert not is_plain_name(name)
    for name in ("/tmp/x", "../../x", "..", ".hidden", "-rf", "a\\b", "\x1b[2J"):
        stem = safe_file_stem(name)
        assert stem and "/" not in stem and "\\" not in stem
        assert not stem.startswith((".", "-")) and stem.isprintable()
    assert safe_file_stem("Input3") == "Input3"
    assert file_stems(["a/b", "a_b", "A_B"]) == {"a/b": "a_b", "a_b": "a_b_2", "A_B": "A_B_3"}


@pytest.mark.parametrize("name", SHARED_ARCHIVES)
def test_the_shared_archives_stay_valid(name: str) -> None:
    mlf.validate(SHARED_MLF / f"{name}.tar")
