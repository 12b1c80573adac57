"""``projectapi runtime export``: both layouts, the TVM layout's Makefile, refusals; telling
runtime trees apart; clear errors for a tree missing a component."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest

from microtvm_kit import RUNTIME_DIR, generate, runtime_tree
from projectapi import cli

from .interop_testlib import tvm_layout_runtime


def _export(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    status = cli.main(["runtime", "export", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_tvm_layout_has_exactly_the_components_tvm_templates_glob(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture
):
    destination = tmp_path / "standalone_crt"
    status, out, _ = _export(capsys, str(destination), "--layout", "tvm", "--json")
    assert status == 0
    report = json.loads(out)["result"]
    assert report["layout"] == "tvm" and report["runtime"] == "projectapi"
    base = destination / "src" / "runtime" / "crt"
    assert sorted(p.name for p in base.iterdir()) == sorted(runtime_tree.TVM_LAYOUT_COMPONENTS)
    assert report["components"] == sorted(runtime_tree.TVM_LAYOUT_COMPONENTS)
    assert all(list((base / name).glob("*.c")) for name in runtime_tree.TVM_LAYOUT_COMPONENTS)
    assert (destination / "include" / "tvm" / "runtime" / "crt" / "microtvm_rpc_server.h").is_file()
    assert (destination / "crt_config" / "crt_config.h").is_file()
    assert runtime_tree.identify(destination).runtime == "projectapi"


def test_projectapi_layout_is_the_packaged_tree(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture
):
    destination = tmp_path / "runtime"
    status, out, _ = _export(capsys, str(destination), "--layout", "projectapi")
    assert status == 0 and str(destination) in out
    assert (destination / "CMakeLists.txt").is_file()
    assert sorted(p.name for p in (destination / "src").iterdir()) == sorted(
        p.name for p in (RUNTIME_DIR / "src").iterdir()
    )
    assert "platform/posix" in runtime_tree.components(destination)
    assert runtime_tree.identify(destination) == runtime_tree.RuntimeInfo(
        "projectapi", "projectapi", str(destination)
    )


def test_export_refuses_an_existing_directory_and_leaves_nothing(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture
):
    existing = tmp_path / "taken"
    existing.mkdir()
    status, _, err = _export(capsys, str(existing), "--layout", "tvm")
    assert status == 1
    assert "taken already exists" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert not any(existing.iterdir())


def test_tvm_layout_makefile_builds_c_and_cxx_libraries(tmp_path: pathlib.Path):
    tree = tvm_layout_runtime(tmp_path / "standalone_crt", marker=True)
    subprocess.run(["make", "-s", "-j2"], cwd=tree, check=True, capture_output=True)
    libraries = sorted(p.name for p in (tree / "build").glob("lib*.a"))
    assert libraries == sorted(f"lib{name}.a" for name in runtime_tree.TVM_LAYOUT_COMPONENTS)
    members = subprocess.run(
        ["ar", "t", str(tree / "build" / "libmicrotvm_rpc_common.a")],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    assert "crc16.o" in members  # the C++ source


def test_identify_tells_tvm_trees_from_ours(tmp_path: pathlib.Path):
    tvm_like = tvm_layout_runtime(tmp_path / "tvm", marker=False)
    assert runtime_tree.identify(tvm_like) == runtime_tree.RuntimeInfo("tvm", "tvm", str(tvm_like))
    assert runtime_tree.identify(RUNTIME_DIR).describe() == (
        "projectapi's runtime (projectapi layout) from the packaged runtime"
    )


def test_missing_component_names_where_it_was_looked_for(tmp_path: pathlib.Path):
    tree = tvm_layout_runtime(tmp_path / "tvm", marker=False)
    shutil.rmtree(tree / "src" / "runtime" / "crt" / "microtvm_rpc_server")
    project = tmp_path / "project"
    project.mkdir()
    with pytest.raises(generate.GenerateError, match="src/runtime/crt/microtvm_rpc_server"):
        generate.copy_runtime(str(tree), tmp_path / "model", project, ["microtvm_rpc_server"])


def test_create_hands_the_given_runtime_and_says_which(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture
):
    tree = tvm_layout_runtime(tmp_path / "tvm", marker=False)
    project = tmp_path / "project"
    archive = pathlib.Path(__file__).resolve().parents[1] / "data" / "mlf" / "mnist_aot_c.tar"
    status = cli.main(
        ["create", str(archive), str(project), "-t", "host", "--standalone-crt-dir", str(tree),
         "-o", "project_type=host_driven"]
    )
    err = capsys.readouterr().err
    assert status == 0, err
    assert f"runtime: TVM's standalone CRT (tvm layout) from {tree}" in err
    assert "1 C++ sources" in err
    assert json.loads((project / "runtime.json").read_text())["runtime"] == "tvm"
    assert (project / "runtime" / "src" / "runtime" / "crt" / "microtvm_rpc_common" / "crc16.cc").is_file()
