"""Packing user C sources into a v7 archive: round trip, generated header, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from projectapi import mlf
from projectapi.mlf import TensorSpec, pack
from projectapi.mlf.writer import interface_header

# An "add one" model over two int8 inputs with the C-interface shape: run -> main -> operator.
LIB0 = b"""#include <stdint.h>
#include <tvmgen_net.h>
int32_t tvmgen_net___tvm_main__(int8_t* a, int8_t* b, int8_t* out);
int32_t tvmgen_net_run(struct tvmgen_net_inputs* inputs, struct tvmgen_net_outputs* outputs) {
  return tvmgen_net___tvm_main__(inputs->a_0, inputs->b, outputs->output);
}
"""
LIB1 = b"""#include <stdint.h>
int32_t tvmgen_net_fused_add(int8_t* a, int8_t* b, int8_t* out) {
  for (int i = 0; i < 4; ++i) { out[i] = (int8_t)(a[i] + b[i]); }
  return 0;
}
int32_t tvmgen_net___tvm_main__(int8_t* a, int8_t* b, int8_t* out) {
  return tvmgen_net_fused_add(a, b, out);
}
"""
INPUTS = [TensorSpec("a:0", "int8", (1, 4)), TensorSpec("b", "int8", (4,))]
OUTPUTS = [TensorSpec("output", "int8", (1, 4))]


def _pack(tmp_path: Path, **overrides: object) -> mlf.ModelLibrary:
    arguments: dict = {
        "model_name": "net",
        "sources": {"entry.c": LIB0, "ops.c": LIB1},
        "inputs": INPUTS,
        "outputs": OUTPUTS,
    }
    arguments.update(overrides)
    return pack(tmp_path / "net.tar", **arguments)


def test_pack_round_trip(tmp_path: Path) -> None:
    library = _pack(tmp_path, workspace_size_bytes=0)
    assert library.path == tmp_path / "net.tar"
    assert mlf.check(mlf.open(tmp_path / "net.tar")) == []
    assert (library.version, library.style) == (7, "full-model")
    model = library.model()
    assert (model.executor, model.interface_api, model.unpacked_api) == ("aot", "c", True)
    assert model.sources == ("codegen/host/src/net_lib0.c", "codegen/host/src/net_lib1.c")
    assert library.files["codegen/host/src/net_lib1.c"] == LIB1
    assert model.header == "codegen/host/include/tvmgen_net.h"
    assert model.inputs == (
        mlf.TensorInfo("a:0", "int8", (1, 4), 4),
        mlf.TensorInfo("b", "int8", (4,), 4),
    )  # shapes come back through the Relay signature
    assert model.outputs == (mlf.TensorInfo("output", "int8", (1, 4), 4),)
    assert [f.name for f in model.operator_functions] == ["tvmgen_net_fused_add"]
    assert library.files["parameters/net.params"] == mlf.write_params({})
    header = library.text("codegen/host/include/tvmgen_net.h")
    assert "#define TVMGEN_NET_A_0_SIZE 4" in header
    assert "struct tvmgen_net_inputs {\n  void* a_0;\n  void* b;\n};" in header
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.tar"]
    assert (tmp_path / "net.tar").stat().st_mode & 0o777 == 0o644


def test_workspace_defaults_to_the_given_header(tmp_path: Path) -> None:
    header = interface_header("net", INPUTS, OUTPUTS, 96)
    model = _pack(tmp_path, header=header).model()
    assert model.workspace_size_bytes == 96


def test_pack_replaces_an_existing_archive(tmp_path: Path) -> None:
    (tmp_path / "net.tar").write_bytes(b"old")
    assert _pack(tmp_path).model().name == "net"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model_name": "Net"}, r"model name 'Net': use lower-case letters"),
        ({"model_name": "1net"}, r"model name '1net'"),
        ({"sources": {}}, r"no C sources given"),
        ({"workspace_size_bytes": -1}, r"sizes must not be negative"),
        ({"constants_size_bytes": -1}, r"sizes must not be negative"),
        ({"sources": {"model.o": b""}}, r"source model\.o: expected a \.c, \.cc or \.cpp file"),
        ({"inputs": []}, r"at least one input and one output"),
        (
            {"inputs": [TensorSpec("x", "int8", (0, 4))]},
            r"input 'x': shape \[0, 4\] must be positive",
        ),
        ({"outputs": [TensorSpec("y", "bool", (4,))]}, r"unsupported dtype 'bool'"),
        (
            {"inputs": [TensorSpec("a:0", "int8", (4,)), TensorSpec("a_0", "int8", (4,))]},
            r"inputs 'a:0' and 'a_0' both become the C name 'a_0'",
        ),
    ],
)
def test_bad_descriptions_are_refused(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(mlf.MLFError, match=message):
        _pack(tmp_path, **overrides)
    assert list(tmp_path.iterdir()) == []


def test_sources_without_the_entry_point_fail_validation_and_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(mlf.MLFValidationError, match="entry point tvmgen_net_run of model 'net'"):
        _pack(tmp_path, sources={"ops.c": LIB1})
    assert list(tmp_path.iterdir()) == []


def test_missing_destination_directory(tmp_path: Path) -> None:
    with pytest.raises(mlf.MLFError, match=r"the directory .*absent does not exist"):
        pack(tmp_path / "absent" / "net.tar", model_name="net", sources={"a.c": LIB0},
             inputs=INPUTS, outputs=OUTPUTS)  # fmt: skip
