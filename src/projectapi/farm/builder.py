"""Builds as Ray tasks: generate and build a candidate's project on any node with a free CPU.

The archive arrives as bytes and the built project leaves as bytes (``packing``), both through
Ray's object store; the task returns a small header and the packed project as two objects, so
the driver reads the header and hands the project to a board without downloading it.
"""

from __future__ import annotations

import pathlib
import tempfile
from dataclasses import dataclass, field
from typing import Any

from projectapi.farm.packing import pack_directory, remove_later
from projectapi.tune.measure import Candidate, Clock, Outcome, Target, generate_and_build


@dataclass(frozen=True)
class BuildHeader:
    """How a build went: status (``ok`` or why not), sizes, host seconds, where it ran."""

    status: str
    error: str = ""
    sizes: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    host: str = ""


def build_project(archive: bytes, digest: str, target: Target) -> tuple[BuildHeader, bytes]:
    """Generate and build the candidate ``archive`` for ``target``; the project packed."""
    import ray

    host = ray.util.get_node_ip_address()
    clock, outcome = Clock(), Outcome()
    sizes: dict[str, Any] = {}
    packed = b""
    work = pathlib.Path(tempfile.mkdtemp(prefix="projectapi-build-"))
    try:
        path = work / f"{digest}.tar"
        path.write_bytes(archive)
        project_dir = work / "project"
        with outcome.capture():
            project, sizes = generate_and_build(Candidate(path, digest), target, project_dir, clock)
            project.close()
            packed = pack_directory(project_dir, only=project.run_files)  # what a board reads
    finally:
        remove_later(work)
    return BuildHeader(outcome.status, outcome.error, sizes, clock.seconds, host), packed
