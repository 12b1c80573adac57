"""Our C runtime as a device in a host process: built per model, driven over its stdin/stdout.

``build_devices`` compiles the runtime's RPC server (``tests/runtime/c/rpc_device_main.c``) with
each model's generated code; ``PipeTransport`` is such a program's pipes as a session transport.
Used by the end-to-end tests and by ``benchmarks/graph.py``.
"""

from __future__ import annotations

import pathlib
import tarfile
from dataclasses import dataclass

from support.runtime_build import (
    ALL_LIBS,
    C_DIR,
    KNOWN_GENERATED_WARNINGS,
    build_runtime,
    compile_c,
    extract_mlf,
    link_group,
    write_config,
)

from microtvm_kit.process_transport import ProcessTransport

from .transcripts import MLF_DIR

GRAPH_LIBS = ("graph_executor", "graph_executor_module")
PACKET_SIZE = 32 * 1024  # room for mnist's graph JSON and params in one message
TIMEOUT_SEC = 20.0


class PipeTransport(ProcessTransport):
    """A device program's stdin/stdout as a session transport, with the session's timeouts."""

    def __init__(self, exe: pathlib.Path) -> None:
        super().__init__([str(exe)])

    def open(self) -> dict[str, float]:
        super().open()
        return {"session_start_timeout_sec": TIMEOUT_SEC, "session_established_timeout_sec": 5}


@dataclass(frozen=True)
class Devices:
    """Device programs per model, and whether the runtime has a graph executor."""

    programs: dict[str, pathlib.Path]
    has_graph: bool

    def __getitem__(self, model: str) -> pathlib.Path:
        return self.programs[model]


def build_devices(root: pathlib.Path, models: tuple[str, ...]) -> Devices:
    """Build the runtime and one device program per shared MLF archive under ``root``."""
    cfg = write_config(root / "cfg", TVM_CRT_MAX_PACKET_SIZE_BYTES=PACKET_SIZE)
    libs = build_runtime(root / "build", cfg, libs=";".join(ALL_LIBS))
    names = [name for name in ALL_LIBS if name in libs]
    has_graph = all(name in libs for name in GRAPH_LIBS)
    exes = {}
    for model in models:
        sources = [C_DIR / "rpc_device_main.c"]
        sources += sorted((extract_mlf(model, root) / "codegen/host/src").glob("*.c"))
        exes[model] = root / f"device_{model}"
        compile_c(
            exes[model],
            sources,
            includes=[cfg],
            defines=["DEVICE_WITH_GRAPH_EXECUTOR"] if has_graph else [],
            link=link_group(libs, *names),
            allowed_warnings=KNOWN_GENERATED_WARNINGS,
            cflags=["-O2", "-Wno-unused-parameter", "-Wno-unused-variable"],
        )
    return Devices(exes, has_graph)


def graph_files(model: str) -> tuple[str, bytes | None]:
    """A graph archive's graph JSON, and its params blob if it has one."""
    with tarfile.open(MLF_DIR / f"{model}.tar") as tar:
        names = tar.getnames()
        graph = tar.extractfile("./executor-config/graph/default.graph")
        assert graph is not None
        params = None
        if "./parameters/default.params" in names:
            member = tar.extractfile("./parameters/default.params")
            assert member is not None
            params = member.read()
        return graph.read().decode(), params
