"""Opening real TVM archives and hand-made variants of every supported version and style."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from projectapi import mlf
from projectapi.mlf import report

from .mlf_testlib import (
    SHARED_ARCHIVES,
    SHARED_MLF,
    files_tar,
    metadata_of,
    reference_io,
    shared_files,
    with_metadata,
)

# What each shared archive must show: executor, interface, unpacked, system-lib, entry points,
# number of sources, header present, operator count (mlf/README.md, docs/generated-code.md).
EXPECTED = {
    "mnist_aot_c": ("aot", "c", True, False, ["tvmgen_default_run"], 2, True, 8),
    "mnist_aot_packed": (
        "aot", "packed", False, False,
        ["tvmgen_default_run", "tvmgen_default_get_c_metadata"], 3, False, 8,
    ),
    "mnist_aot_packed_syslib": (
        "aot", "packed", False, True,
        ["tvmgen_default_run", "tvmgen_default_get_c_metadata", "TVMSystemLibEntryPoint"],
        3, False, 8,
    ),
    "mnist_graph": ("graph", None, None, True, ["TVMSystemLibEntryPoint"], 2, False, 8),
    "mnist_graph_params": ("graph", None, None, True, ["TVMSystemLibEntryPoint"], 2, False, 8),
    "qnn_dense_int8_aot_c": ("aot", "c", True, False, ["tvmgen_default_run"], 2, True, 2),
}  # fmt: skip


@pytest.mark.parametrize("name", SHARED_ARCHIVES)
def test_shared_archive_opens_with_the_right_facts(name: str) -> None:
    library = mlf.open(SHARED_MLF / f"{name}.tar")
    assert (library.version, library.style) == (7, "full-model")
    assert not library.has_runtime and not library.has_templates  # stripped, see README
    model = library.model()
    executor, interface, unpacked, syslib, entries, sources, header, operators = EXPECTED[name]
    assert model.name == "default"
    assert model.executor == executor
    assert model.interface_api == interface
    assert model.unpacked_api is unpacked
    assert model.system_lib is syslib
    assert list(model.entry_points) == entries
    assert len(model.sources) == sources
    assert (model.header == "codegen/host/include/tvmgen_default.h") is header
    assert len(model.operator_functions) == operators
    assert model.targets == ("c -keys=cpu ",)
    assert mlf.check(library) == []


@pytest.mark.parametrize("name", SHARED_ARCHIVES)
def test_shared_archive_io_matches_reference_arrays(name: str) -> None:
    model = mlf.open(SHARED_MLF / f"{name}.tar").model()
    reference_in, reference_out = reference_io(name)
    (tensor_in,) = model.inputs
    (tensor_out,) = model.outputs
    assert tensor_in.name == ("x" if name.startswith("qnn") else "Input3")
    assert tensor_out.name == "output"  # metadata.json's name, not TVMMetadata's "output0"
    for tensor, array in ((tensor_in, reference_in), (tensor_out, reference_out)):
        assert tensor.dtype == str(array.dtype)
        assert tensor.size_bytes == array.nbytes
    assert tensor_in.shape == reference_in.shape
    # The qnn model's Relay text has no return type, and the C interface records no shapes.
    expected_out_shape = None if name.startswith("qnn") else reference_out.shape
    assert tensor_out.shape == expected_out_shape


def test_shared_memory_figures() -> None:
    aot = mlf.open(SHARED_MLF / "mnist_aot_c.tar").model()
    graph = mlf.open(SHARED_MLF / "mnist_graph_params.tar").model()
    assert aot.memory == (mlf.DeviceMemory(1, 31360, 23984, 63592),)
    assert (graph.workspace_size_bytes, graph.constants_size_bytes) == (39104, 23976)
    assert graph.graph is not None and graph.graph_member == "executor-config/graph/default.graph"


@pytest.mark.parametrize("name", SHARED_ARCHIVES)
def test_shared_params_round_trip_byte_for_byte(name: str) -> None:
    model = mlf.open(SHARED_MLF / f"{name}.tar").model()
    original = shared_files(name)["parameters/default.params"]
    assert model.params_data == original
    assert mlf.write_params(model.params()) == original


def test_unlinked_params_keep_stored_order_and_sizes() -> None:
    params = mlf.open(SHARED_MLF / "mnist_graph_params.tar").model().params()
    assert list(params) == ["p2", "p3", "p4", "p0", "p5", "p1"]
    assert sum(array.nbytes for array in params.values()) == 23976
    assert params["p0"].shape == (2, 1, 5, 5, 1, 4) and params["p0"].dtype == np.float32


@pytest.mark.parametrize("layout", ["gzip", "no ./ prefix", "directory"])
def test_other_containers_give_the_same_description(tmp_path: Path, layout: str) -> None:
    files = shared_files("mnist_aot_packed")
    if layout == "gzip":
        path = tmp_path / "model.tar"  # gzip whatever the name says
        path.write_bytes(gzip.compress((SHARED_MLF / "mnist_aot_packed.tar").read_bytes()))
    elif layout == "no ./ prefix":
        path = files_tar(tmp_path / "model.tar", files, prefix="")
    else:
        path = tmp_path / "extracted"
        mlf.extract_archive(SHARED_MLF / "mnist_aot_packed.tar", path)
    original = mlf.open(SHARED_MLF / "mnist_aot_packed.tar")
    reopened = mlf.open(path)
    assert reopened.models == original.models
    assert reopened.files == original.files


def test_report_summary_and_json() -> None:
    library = mlf.open(SHARED_MLF / "mnist_graph_params.tar")
    text = report.summary(library)
    assert "executor     graph" in text
    assert "Input3  float32  [1, 1, 28, 28]  3,136" in text
    assert "params       6 array(s), 23,976 B" in text
    data = json.loads(json.dumps(report.to_dict(library)))
    (model,) = data["models"]
    assert model["inputs"] == [
        {"name": "Input3", "dtype": "float32", "shape": [1, 1, 28, 28], "size_bytes": 3136}
    ]
    assert [a["name"] for a in model["params"]["arrays"]] == ["p2", "p3", "p4", "p0", "p5", "p1"]


def _graph_metadata_v5_v6(files: dict[str, bytes], version: int) -> dict[str, bytes]:
    """Rewrite the shared graph archive as TVM 0.8 (v5) or a v6 snapshot wrote it."""
    module = metadata_of(files)["modules"]["default"]
    main = module["memory"]["functions"]["main"][0]
    for key in ("inputs", "outputs"):
        del main[key]
    old = {key: value for key, value in module.items() if key != "target"}
    old["version"] = version
    old["target"] = {"1": "c -keys=cpu "} if version == 5 else ["c -keys=cpu "]
    renamed = {
        ("executor-config/graph/graph.json" if k.endswith("default.graph") else k): v
        for k, v in files.items()
        if not k.endswith(".relay")
    }
    return with_metadata(renamed, old)


@pytest.mark.parametrize("version", [5, 6])
def test_versions_5_and_6(tmp_path: Path, version: int) -> None:
    files = _graph_metadata_v5_v6(shared_files("mnist_graph_params"), version)
    library = mlf.open(files_tar(tmp_path / "old.tar", files))
    model = library.model()
    assert library.version == version
    assert model.targets == ("c -keys=cpu ",)
    assert model.graph_member == "executor-config/graph/graph.json"
    # No inputs/outputs in metadata.json before TVM 0.11: taken from the graph.
    assert model.inputs == (mlf.TensorInfo("Input3", "float32", (1, 1, 28, 28), 3136),)
    assert model.outputs == (mlf.TensorInfo("output", "float32", (1, 10), 40),)
    assert mlf.check(library) == []


def test_aot_packed_without_declared_io_uses_tvm_metadata(tmp_path: Path) -> None:
    files = shared_files("mnist_aot_packed")
    metadata = metadata_of(files)
    main = metadata["modules"]["default"]["memory"]["functions"]["main"][0]
    del main["inputs"], main["outputs"]
    files = {k: v for k, v in with_metadata(files, metadata).items() if not k.endswith(".relay")}
    model = mlf.open(files_tar(tmp_path / "old.tar", files)).model()
    assert model.inputs == (mlf.TensorInfo("Input3", "float32", (1, 1, 28, 28), 3136),)
    assert model.outputs == (mlf.TensorInfo("output", "float32", (1, 10), 40),)


OPERATOR_SOURCE = b"""#include "tvm/runtime/c_runtime_api.h"
int32_t add(void* args, int32_t* arg_type_ids, int32_t num_args, void* out_ret_value,
            int32_t* out_ret_tcode, void* resource_handle) {
  return 0;
}
int32_t __tvm_main__(void* args, int* arg_type_ids, int num_args, void* out_ret_value,
                     int* out_ret_tcode, void* resource_handle) {
  return add(args, arg_type_ids, num_args, out_ret_value, out_ret_tcode, resource_handle);
}
"""


def test_operator_style(tmp_path: Path) -> None:
    buffer = {"size_bytes": 16, "shape": [4], "dtype": "float32", "input_binding": None}
    metadata = {
        "version": 7, "model_name": "add", "export_datetime": "2023-10-20 10:00:00Z",
        "memory": {"add": [buffer, buffer, buffer]}, "target": ["c -keys=cpu "],
        "executors": [], "style": "operator",
    }  # fmt: skip
    files = {
        "metadata.json": json.dumps(metadata).encode(),
        "codegen/host/src/lib0.c": OPERATOR_SOURCE,
        "src/tir-1.txt": b"informative",
    }
    library = mlf.open(files_tar(tmp_path / "op.tar", files))
    model = library.model("add")
    assert library.style == "operator"
    assert model.executor is None and model.interface_api is None
    assert model.entry_points == ("add", "__tvm_main__")
    (function,) = model.operator_functions
    assert [b.shape for b in function.buffers] == [(4,)] * 3
    assert mlf.check(library) == []


def test_two_models_and_model_lookup(tmp_path: Path) -> None:
    files = shared_files("qnn_dense_int8_aot_c")
    metadata = metadata_of(files)
    second = json.loads(
        json.dumps(metadata["modules"]["default"]).replace("tvmgen_default", "tvmgen_second")
    )
    second["model_name"] = "second"
    metadata["modules"]["second"] = second
    for member in ("src/default_lib0.c", "src/default_lib1.c", "include/tvmgen_default.h"):
        text = files[f"codegen/host/{member}"].replace(b"tvmgen_default", b"tvmgen_second")
        files[f"codegen/host/{member.replace('default', 'second')}"] = text.replace(
            b"TVMGEN_DEFAULT", b"TVMGEN_SECOND"
        )
    library = mlf.open(files_tar(tmp_path / "two.tar", with_metadata(files, metadata)))
    assert [m.name for m in library.models] == ["default", "second"]
    assert library.model("second").sources == (
        "codegen/host/src/second_lib0.c",
        "codegen/host/src/second_lib1.c",
    )
    assert library.model("second").header == "codegen/host/include/tvmgen_second.h"
    assert mlf.check(library) == []
    with pytest.raises(mlf.MLFError, match="no model 'third'; the archive has: default, second"):
        library.model("third")
    with pytest.raises(mlf.MLFError, match="no model None"):
        library.model()


def test_runtime_and_templates_trees_are_detected(tmp_path: Path) -> None:
    files = shared_files("mnist_aot_c")
    files["runtime/CMakeLists.txt"] = b"project(crt)\n"
    files["runtime/src/runtime/crt/common/crt_runtime_api.c"] = b"int x;\n"
    files["templates/crt_config.h.template"] = b"#define TVM_CRT_MAX_ARGS 10\n"
    library = mlf.open(files_tar(tmp_path / "full.tar", files))
    assert library.has_runtime and library.has_templates
    assert library.model().sources == (
        "codegen/host/src/default_lib0.c",
        "codegen/host/src/default_lib1.c",
    )
    assert mlf.check(library) == []
