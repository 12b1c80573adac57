"""generate_project output: layout, recorded options, per-type sources, extra files."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile

import numpy as np
import pytest

import microtvm_kit
from projectapi.errors import ProjectAPIError
from projectapi.project import TemplateProject

from .host_testlib import archive, assert_matches, reference


@pytest.fixture(scope="module")
def template():
    with TemplateProject("host") as project:
        yield project


def test_generate_writes_a_complete_project(template, tmp_path) -> None:
    template.generate_project(archive("mnist_aot_packed"), tmp_path / "p").close()
    project = tmp_path / "p"
    for path in (
        "microtvm_api_server.py",
        "microtvm_kit/server.py",
        "microtvm_kit/safe_tar.py",
        "model.tar",
        "model/metadata.json",
        "runtime/include/dlpack/dlpack.h",
        "crt_config/crt_config.h",
        "glue/model_glue.h",
        "glue/model_glue.c",
        "CMakeLists.txt",
        "config.cmake",
        "c/standalone_loop.c",
        "c/firmware.cmake",
    ):
        assert (project / path).is_file(), path
    # The standalone program calls the model directly: no registry is written or linked.
    assert not (project / "glue" / "model_registry.c").exists()
    assert not list(tmp_path.glob(".*partial*"))
    assert json.loads((project / "project.json").read_text())["project_type"] == "aot_standalone"


def test_host_driven_links_the_rpc_runtime(template, tmp_path) -> None:
    options = {"project_type": "host_driven", "workspace_size_bytes": 65536}
    template.generate_project(archive("mnist_aot_c"), tmp_path / "p", options).close()
    config = (tmp_path / "p" / "config.cmake").read_text()
    assert '"microtvm_rpc_server"' in config and '"aot_executor"' in config
    assert "c/host_driven_loop.c" in config and "standalone_loop" not in config
    assert "TVM_WORKSPACE_SIZE_BYTES=65536" in config
    assert "glue/model_registry.c" in config and "model_glue.c" not in config


def test_host_driven_graph_model_offers_the_graph_executor(template, tmp_path) -> None:
    template.generate_project(
        archive("mnist_graph"), tmp_path / "p", {"project_type": "host_driven"}
    ).close()
    config = (tmp_path / "p" / "config.cmake").read_text()
    assert '"graph_executor_module"' in config and "PROJECTAPI_GRAPH_EXECUTOR=1" in config
    crt_config = (tmp_path / "p" / "crt_config" / "crt_config.h").read_text()
    assert "TVM_CRT_MAX_PACKET_SIZE_BYTES 4096" in crt_config  # the graph JSON fits one message


def test_extra_files_are_added(template, tmp_path) -> None:
    extra = tmp_path / "extra.tar"
    with tarfile.open(extra, "w") as tar:
        data = b"board notes\n"
        info = tarfile.TarInfo("notes/readme.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    template.generate_project(
        archive("qnn_dense_int8_aot_c"), tmp_path / "p", {"extra_files_tar": str(extra)}
    ).close()
    assert (tmp_path / "p" / "notes" / "readme.txt").read_bytes() == b"board notes\n"


def test_unsafe_extra_files_are_refused(template, tmp_path) -> None:
    extra = tmp_path / "evil.tar"
    with tarfile.open(extra, "w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ProjectAPIError, match=r"\.\."):
        template.generate_project(
            archive("qnn_dense_int8_aot_c"), tmp_path / "p", {"extra_files_tar": str(extra)}
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar"]


@pytest.mark.slow
def test_runtime_in_tvm_layout_without_platform_builds_and_runs(template, tmp_path) -> None:
    """A CRT tree laid out as TVM's (src/runtime/crt/<component>, no platform) is accepted."""
    ours = microtvm_kit.RUNTIME_DIR
    tvm_like = tmp_path / "crt"
    shutil.copytree(ours / "include", tvm_like / "include")
    for component in ("common", "memory"):
        shutil.copytree(ours / "src" / component, tvm_like / "src" / "runtime" / "crt" / component)
    target = tmp_path / "p"
    project = template.generate_project(
        archive("qnn_dense_int8_aot_c"), target, standalone_crt_dir=tvm_like
    )
    config = (target / "config.cmake").read_text()
    assert "runtime/src/runtime/crt/common/" in config
    assert "runtime/src/platform/posix/platform.c" in config
    with project:
        project.build()
    x, want = reference("qnn_dense_int8_aot_c")
    np.save(tmp_path / "x.npy", x)
    done = subprocess.run(
        [
            str(target / "build" / "main"),
            "--input",
            str(tmp_path / "x.npy"),
            "--output",
            str(tmp_path / "y.npy"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert_matches(np.load(tmp_path / "y.npy"), want)
