"""The model glue generator on the real archives: detection, shapes, and C that compiles."""

from __future__ import annotations

import pathlib
import subprocess

import pytest

import microtvm_kit
from microtvm_kit import graph_glue, model_glue
from microtvm_kit.archive.metadata import DeclaredTensor
from projectapi.mlf import extract_archive

from .host_testlib import AOT_ARCHIVES, GRAPH_ARCHIVES, archive

RUNTIME_DIR = microtvm_kit.RUNTIME_DIR

# (interface, has system library, input shape, output shape) per archive.
EXPECTED = {
    "mnist_aot_c": ("c", False, (1, 1, 28, 28), (1, 10)),
    "mnist_aot_packed": ("packed", False, (1, 1, 28, 28), (1, 10)),
    "mnist_aot_packed_syslib": ("packed", True, (1, 1, 28, 28), (1, 10)),
    "qnn_dense_int8_aot_c": ("c", False, (1, 64), (32,)),  # the MLF gives no output shape
    "mnist_graph": ("packed", True, (1, 1, 28, 28), (1, 10)),
    "mnist_graph_params": ("packed", True, (1, 1, 28, 28), (1, 10)),
}
ALL_ARCHIVES = AOT_ARCHIVES + GRAPH_ARCHIVES


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, model_glue.ModelInfo]:
    root = tmp_path_factory.mktemp("models")
    result = {}
    for name in ALL_ARCHIVES:
        extract_archive(archive(name), root / name)
        result[name] = model_glue.read_model(root / name)
    return result


@pytest.mark.parametrize("name", ALL_ARCHIVES)
def test_read_model_detects_the_archive_kind(models, name) -> None:
    interface, syslib, in_shape, out_shape = EXPECTED[name]
    model = models[name]
    assert (model.interface, model.has_system_lib) == (interface, syslib)
    assert model.inputs[0].shape == in_shape
    assert model.outputs[0].shape == out_shape
    assert model.mangled == "tvmgen_default"


@pytest.mark.parametrize("name", ALL_ARCHIVES)
@pytest.mark.parametrize("project_type", ["aot_standalone", "host_driven"])
def test_generated_glue_compiles_cleanly(models, name, project_type, tmp_path) -> None:
    model = models[name]
    written = model_glue.write_glue(model, tmp_path / "glue", project_type)
    names = {path.name for path in written}
    assert ("graph_model.c" in names) == (project_type == "aot_standalone" and bool(model.graph))
    packed_aot = model.graph is None and model.interface == "packed"
    assert ("aot_packed_model.c" in names) == (project_type == "aot_standalone" and packed_aot)
    assert ("model_glue.c" in names) == (project_type == "aot_standalone")
    c_interface_registry = (
        "model_registry.c" in names and model.interface == "c" and not model.graph
    )
    assert ("c_interface_adapter.c" in names) == c_interface_registry
    assert ("model_registry.c" in names) == (
        not model.has_system_lib and (project_type == "host_driven" or model.graph is not None)
    )
    include = [
        "-I" + str(RUNTIME_DIR / "include"),
        "-I" + str(tmp_path / "glue"),
        "-I" + str(tmp_path / "c"),
    ]
    if model.include_dir is not None:
        include.append("-I" + str(model.include_dir))
    for source in written:
        done = subprocess.run(
            [
                "gcc",
                "-std=gnu99",
                "-fsyntax-only",
                "-Wall",
                "-Wextra",
                "-Werror",
                *include,
                str(source),
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr


def test_c_interface_registry_registers_the_adapter_under_the_tvm_name(models) -> None:
    text = model_glue.registry_source(models["mnist_aot_c"])
    assert '"\\002\\000tvmgen_default_run\\000tvmgen_default_get_c_metadata\\000"' in text
    # The adapter's C symbol must differ from the archive's own tvmgen_default_run.
    assert "(TVMBackendPackedCFunc)projectapi_packed_run" in text
    assert "int32_t projectapi_call_model(const TVMValue* args) {" in text
    assert '"output0"' in text and '"Input3"' in text


def test_system_lib_archives_get_no_second_registry(models) -> None:
    assert model_glue.registry_source(models["mnist_aot_packed_syslib"]) is None


def test_graph_glue_embeds_the_graph_and_only_unlinked_parameters(models) -> None:
    linked, loaded = models["mnist_graph"].graph, models["mnist_graph_params"].graph
    assert linked.params == b"" and len(loaded.params) == 24524
    header = {
        name: graph_glue.data_header(models[name].graph, ["Input3"], ([3136], [40]))
        for name in ("mnist_graph", "mnist_graph_params")
    }
    assert "PROJECTAPI_GRAPH_HAS_PARAMS 0" in header["mnist_graph"]
    assert "graph_params" not in header["mnist_graph"]
    assert "PROJECTAPI_GRAPH_HAS_PARAMS 1" in header["mnist_graph_params"]
    assert "graph_params[24524]" in header["mnist_graph_params"]
    assert '"{\\"nodes\\":[' in header["mnist_graph_params"]  # minified JSON, quotes escaped
    assert "TVMGraphExecutor_LoadParams" in (model_glue.GLUE_C_DIR / graph_glue.RUN_SOURCE).read_text()
    assert linked.packet_bytes == 4096 and loaded.storage_bytes[0] == 3136


def test_unknown_executors_are_refused_with_a_reason(tmp_path) -> None:
    extract_archive(archive("mnist_graph"), tmp_path / "m")
    metadata = tmp_path / "m" / "metadata.json"
    metadata.write_text(metadata.read_text().replace('"graph"', '"vm"'))
    with pytest.raises(model_glue.ModelGlueError, match="executor"):
        model_glue.read_model(tmp_path / "m")


def test_relay_shapes_fall_back_to_flat_when_they_disagree(tmp_path: pathlib.Path) -> None:
    spec = model_glue._tensors((DeclaredTensor("x", "int16", 12),), [(2, 2)])[0]
    assert spec.shape == (6,)
    assert spec.dl_dtype == (0, 16, 1)


def test_c_interface_with_external_pools_is_refused(tmp_path) -> None:
    extract_archive(archive("mnist_aot_c"), tmp_path / "m")
    header = tmp_path / "m" / "codegen" / "host" / "include" / "tvmgen_default.h"
    header.write_text(
        header.read_text() + "\nstruct tvmgen_default_workspace_pools {\n void* p;\n};\n"
    )
    with pytest.raises(model_glue.ModelGlueError, match="external workspace"):
        model_glue.read_model(tmp_path / "m")
