"""Broken archives: each is refused with a message naming the member and the rule broken."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from projectapi import mlf

from .mlf_testlib import files_tar, metadata_of, shared_files, with_metadata

Files = dict[str, bytes]


def _drop(*names: str) -> Callable[[Files], Files]:
    return lambda files: {k: v for k, v in files.items() if not k.startswith(names)}


def _edit_metadata(change: Callable[[dict], None]) -> Callable[[Files], Files]:
    def edit(files: Files) -> Files:
        metadata = metadata_of(files)
        change(metadata)
        return with_metadata(files, metadata)

    return edit


def _replace(member: str, old: bytes, new: bytes) -> Callable[[Files], Files]:
    def edit(files: Files) -> Files:
        assert old in files[member]
        return {**files, member: files[member].replace(old, new)}

    return edit


def _main(metadata: dict) -> dict:
    return metadata["modules"]["default"]["memory"]["functions"]["main"][0]


# Problems ``open`` itself refuses: (archive, edit, message).
UNREADABLE = {
    "missing metadata.json": ("mnist_aot_c", _drop("metadata.json"), r"metadata\.json: missing"),
    "bad JSON": (
        "mnist_aot_c",
        lambda files: {**files, "metadata.json": b'{"version": 7, "modules": {'},
        r"metadata\.json: not valid JSON: Expecting",
    ),
    "not an object": (
        "mnist_aot_c",
        lambda files: {**files, "metadata.json": b"[7]"},
        r"metadata\.json: expected a JSON object, got list",
    ),
    "wrong version": (
        "mnist_aot_c",
        _edit_metadata(lambda m: m.update(version=8)),
        r"unsupported format version 8 \(supported: 5, 6, 7\)",
    ),
    "version as text": (
        "mnist_aot_c",
        _edit_metadata(lambda m: m.update(version="7")),
        r"unsupported format version '7'",
    ),
    "missing executors": (
        "mnist_aot_c",
        _edit_metadata(lambda m: m["modules"]["default"].pop("executors")),
        r"modules\.default\.executors: missing",
    ),
    "mistyped size": (
        "mnist_aot_c",
        _edit_metadata(lambda m: _main(m).update(workspace_size_bytes="big")),
        r"modules\.default\.memory\.functions\.main\[0\]\.workspace_size_bytes: expected int, got str",
    ),
    "unknown executor": (
        "mnist_aot_c",
        _edit_metadata(lambda m: m["modules"]["default"].update(executors=["vm"])),
        r"modules\.default\.executors: expected \[\"aot\"\] or \[\"graph\"\], got \['vm'\]",
    ),
    "tensor entry not an object": (
        "mnist_aot_c",
        _edit_metadata(lambda m: _main(m)["inputs"].update(Input3=3136)),
        r"main\[0\]\.inputs\.Input3: expected an object",
    ),
    "graph JSON broken": (
        "mnist_graph",
        lambda files: {**files, "executor-config/graph/default.graph": b"{nodes"},
        r"executor-config/graph/default\.graph: not valid JSON",
    ),
    "graph JSON malformed": (
        "mnist_graph",
        lambda files: {**files, "executor-config/graph/default.graph": b'{"nodes": []}'},
        r"executor-config/graph/default\.graph: malformed graph JSON \(KeyError",
    ),
}

# Problems ``validate`` finds in readable archives: (archive, edit, message).
INVALID = {
    "sources missing": (
        "mnist_aot_c",
        _drop("codegen/host/src/"),
        r"codegen/host/src: model 'default' has no generated sources",
    ),
    "entry point missing": (
        "mnist_aot_c",
        _replace("codegen/host/src/default_lib0.c", b"tvmgen_default_run(", b"tvmgen_default_go("),
        r"entry point tvmgen_default_run of model 'default' is not defined",
    ),
    "graph calls an undefined operator": (
        "mnist_graph",
        _replace(
            "executor-config/graph/default.graph",
            b'"func_name": "tvmgen_default_fused_nn_pad"',
            b'"func_name": "tvmgen_default_fused_missing"',
        ),
        r"default\.graph: node 'tvmgen_default_fused_nn_pad' calls operator "
        r"tvmgen_default_fused_missing, which no source",
    ),
    "listed operator undefined": (
        "qnn_dense_int8_aot_c",
        _replace(
            "codegen/host/src/default_lib1.c",
            b"tvmgen_default_fused_cast_subtract(",
            b"tvmgen_default_renamed(",
        ),
        r"operator function tvmgen_default_fused_cast_subtract is listed but no source",
    ),
    "params truncated": (
        "mnist_graph_params",
        lambda files: {
            **files,
            "parameters/default.params": files["parameters/default.params"][:5000],
        },
        r"parameters/default\.params: params data ends at byte 5000 while reading the data of array 'p2'",
    ),
    "params not params": (
        "mnist_graph_params",
        lambda files: {**files, "parameters/default.params": b"\0" * 64},
        r"parameters/default\.params: not a params file: list magic",
    ),
    "graph parameter not stored": (
        "mnist_graph_params",
        lambda files: {**files, "parameters/default.params": mlf.write_params({})},
        r"input node 'p0' is neither a model input nor stored in parameters/default\.params",
    ),
    "graph missing": (
        "mnist_graph",
        _drop("executor-config/"),
        r"executor-config/graph: graph model 'default' has no graph JSON",
    ),
    "size disagrees with shape": (
        "mnist_aot_packed",
        _edit_metadata(lambda m: _main(m)["inputs"]["Input3"].update(size=3000)),
        r"model 'default' input 'Input3': size 3000 bytes does not match float32\[1, 1, 28, 28\] "
        r"\(3136 bytes\)",
    ),
    "header macro disagrees": (
        "qnn_dense_int8_aot_c",
        _edit_metadata(lambda m: _main(m).update(workspace_size_bytes=999)),
        r"tvmgen_default\.h: TVMGEN_DEFAULT_WORKSPACE_SIZE is 160 but metadata\.json says 999",
    ),
    "header struct disagrees": (
        "qnn_dense_int8_aot_c",
        _replace("codegen/host/include/tvmgen_default.h", b"void* x;", b"void* y;"),
        r"struct tvmgen_default_inputs has members \['y'\], metadata\.json says \['x'\]",
    ),
    "unknown dtype": (
        "qnn_dense_int8_aot_c",
        _edit_metadata(lambda m: _main(m)["inputs"]["x"].update(dtype="bool")),
        r"model 'default' input 'x': unsupported dtype 'bool'",
    ),
    "stray source": (
        "qnn_dense_int8_aot_c",
        lambda files: {
            **files,
            "metadata.json": json.dumps(_with_second_model(metadata_of(files))).encode(),
            "codegen/host/src/stray.c": b"int stray(void) { return 0; }\n",
        },
        r"codegen/host/src/stray\.c: belongs to no model",
    ),
}


def _with_second_model(metadata: dict) -> dict:
    """A second model entry whose sources are absent (so stray.c cannot be assigned)."""
    metadata["modules"]["other"] = {**metadata["modules"]["default"], "model_name": "other"}
    return metadata


def _archive(tmp_path: Path, name: str, edit: Callable[[Files], Files]) -> Path:
    return files_tar(tmp_path / "broken.tar", edit(shared_files(name)))


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_unreadable_archive_is_refused_by_open(tmp_path: Path, case: str) -> None:
    name, edit, message = UNREADABLE[case]
    archive = _archive(tmp_path, name, edit)
    with pytest.raises(mlf.MLFError, match=message):
        mlf.open(archive)
    with pytest.raises(mlf.MLFError, match=message):
        mlf.validate(archive)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_archive_is_reported_by_validate(tmp_path: Path, case: str) -> None:
    name, edit, message = INVALID[case]
    archive = _archive(tmp_path, name, edit)
    mlf.open(archive)  # readable...
    with pytest.raises(mlf.MLFValidationError, match=message) as raised:
        mlf.validate(archive)  # ...but not valid
    assert str(archive) in str(raised.value)
    assert raised.value.problems


def test_unsafe_archive_becomes_a_user_error(tmp_path: Path) -> None:
    archive = files_tar(tmp_path / "evil.tar", {"../metadata.json": b"{}"}, prefix="")
    with pytest.raises(mlf.MLFError, match=r"member '\.\./metadata\.json': '\.\.' component"):
        mlf.open(archive)
    with pytest.raises(mlf.MLFError, match="no such archive or directory"):
        mlf.open(tmp_path / "absent.tar")


def test_every_problem_is_listed(tmp_path: Path) -> None:
    def edit(files: Files) -> Files:
        files = _edit_metadata(lambda m: _main(m).update(workspace_size_bytes=1))(files)
        return _replace("codegen/host/src/default_lib0.c", b"tvmgen_default_run(", b"nope(")(files)

    with pytest.raises(mlf.MLFValidationError) as raised:
        mlf.validate(_archive(tmp_path, "qnn_dense_int8_aot_c", edit))
    messages = [str(problem) for problem in raised.value.problems]
    assert len(messages) == 2
    assert any("WORKSPACE_SIZE" in m for m in messages)
    assert any("entry point" in m for m in messages)
