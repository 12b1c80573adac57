"""The project a board's jobs run in, its server kept from one job to the next when it can be.

Starting a project's server (an interpreter and its imports) costs more CPU than unpacking the
project. A server that lists ``startup_files`` promises to read every other run file at each
flash and open_transport call, so when a job's startup files are the ones the board's running
server started with, the job's other files replace the previous job's in that server's folder
and the server serves them. Otherwise (the first job, other server code or boards table, a
server making no such promise, a server that died between jobs) the job gets a fresh folder and
a server of its own. A job that fails stops its server, so a hang or crash never carries over
to the next job.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import os
import pathlib
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from projectapi.farm.packing import remove_later, unpack_directory
from projectapi.project import GeneratedProject


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def split_startup(packed: bytes, patterns: Sequence[str]) -> tuple[str, bytes]:
    """The digest of the names and contents of the packed files matching ``patterns``, and a
    tar of the other files (what a job changes under a running server)."""
    digest = hashlib.sha256()
    rest = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(packed), mode="r:") as tar,
        tarfile.open(fileobj=rest, mode="w", format=tarfile.GNU_FORMAT) as others,
    ):
        for member in sorted((m for m in tar if m.isfile()), key=lambda m: m.name):
            data = tar.extractfile(member)
            assert data is not None  # a regular file
            if _matches(member.name, patterns):
                digest.update(member.name.encode() + b"\0" + data.read() + b"\0")
            else:
                others.addfile(member, data)
    return digest.hexdigest(), rest.getvalue()


def _files(directory: pathlib.Path) -> set[str]:
    return {
        path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file()
    }


@dataclass
class _Running:
    """A project whose server is running, and what it started with."""

    project: GeneratedProject
    directory: pathlib.Path
    patterns: tuple[str, ...] | None  # its startup files (None: it serves one job only)
    digest: str  # of those files


class BoardProject:
    """The board's current project and server, in the folders its jobs name."""

    def __init__(self) -> None:
        """No project yet: the first job starts one."""
        self._running: _Running | None = None

    @property
    def kept(self) -> pathlib.Path | None:
        """The folder of the project whose server is running between jobs, if any."""
        return self._running.directory if self._running else None

    def take(self, packed: bytes, fresh_dir: pathlib.Path) -> GeneratedProject:
        """The packed built project, ready to flash: in the running server's folder when its
        startup files match, else unpacked as ``fresh_dir`` with a server of its own."""
        return self._reuse(packed, fresh_dir) or self._start(packed, fresh_dir)

    @contextlib.contextmanager
    def used(self) -> Iterator[None]:
        """A job on the project taken: its server stopped if the job fails, kept otherwise
        (when it promised startup files)."""
        try:
            yield
        except BaseException:
            self.close()
            raise
        if self._running is not None and self._running.patterns is None:
            self.close()

    def _reuse(self, packed: bytes, staging: pathlib.Path) -> GeneratedProject | None:
        running = self._running
        if running is None or running.patterns is None:
            return None
        digest, others = split_startup(packed, running.patterns)
        if digest != running.digest or not running.project.server_running():
            self.close()  # other server code, or the server died between jobs
            return None
        unpack_directory(others, staging)
        try:
            arriving = _files(staging)
            leaving = {n for n in _files(running.directory) if not _matches(n, running.patterns)}
            for name in sorted(leaving - arriving):
                (running.directory / name).unlink()
            for name in sorted(arriving):
                target = running.directory / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / name, target)
        except BaseException:
            self.close()
            raise
        finally:
            remove_later(staging)
        return running.project

    def _start(self, packed: bytes, project_dir: pathlib.Path) -> GeneratedProject:
        unpack_directory(packed, project_dir)
        try:
            project = GeneratedProject(project_dir)
        except BaseException:
            remove_later(project_dir)
            raise
        patterns = project.startup_files
        digest = "" if patterns is None else split_startup(packed, patterns)[0]
        self._running = _Running(project, project_dir, patterns, digest)
        return project

    def close(self) -> None:
        """Stop the running server and remove its folder (between jobs, or at the end)."""
        running, self._running = self._running, None
        if running is not None:
            try:
                running.project.close()
            finally:
                remove_later(running.directory)
