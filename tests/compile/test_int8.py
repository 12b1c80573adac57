"""int8 QDQ (QuantizeLinear / DequantizeLinear) ONNX models: they compile and agree with
onnxruntime, but TVM's importer does not keep them integer (docs/compile.md, "int8")."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from projectapi import mlf
from projectapi.compile import compile_model

from .compile_testlib import generate, onnxruntime_outputs, run_standalone


@pytest.fixture(scope="module")
def qdq_model(tmp_path_factory) -> onnx.ModelProto:
    """x -> Q/DQ -> Conv(int8 weights through DQ, float bias) -> Relu -> Q/DQ -> y."""
    rng = np.random.default_rng(3)
    arrays = {
        "w_q": rng.integers(-100, 100, (4, 1, 3, 3)).astype(np.int8),
        "w_scale": np.array(0.01, np.float32),
        "zero": np.array(0, np.int8),
        "x_scale": np.array(0.02, np.float32),
        "y_scale": np.array(0.05, np.float32),
        "bias": rng.random(4).astype(np.float32),
    }
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "zero"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "x_scale", "zero"], ["xd"]),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "zero"], ["wd"]),
        helper.make_node("Conv", ["xd", "wd", "bias"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("QuantizeLinear", ["r", "y_scale", "zero"], ["yq"]),
        helper.make_node("DequantizeLinear", ["yq", "y_scale", "zero"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        initializer=[numpy_helper.from_array(a, name) for name, a in arrays.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path_factory.mktemp("qdq") / "qdq.onnx"
    onnx.save(model, str(path))
    return path


def test_qdq_weights_become_float_constants(qdq_model, tmp_path) -> None:
    compiled = compile_model(qdq_model, tmp_path / "qdq.tar")
    # 36 int8 weights and 4 biases, all stored as float32: the weights are dequantized at
    # compile time and the convolution runs in float (quantization is simulated by rounding).
    assert compiled.constants_size_bytes == 4 * (36 + 4)
    library = mlf.open(compiled.archive)
    code = "\n".join(library.files[name].decode() for name in library.model().sources)
    assert "/* float32 [4, 1, 3, 3] */" in code
    assert "nearbyintf" in code


@pytest.mark.slow
def test_qdq_model_matches_onnxruntime_on_the_host(qdq_model, tmp_path) -> None:
    compiled = compile_model(qdq_model, tmp_path / "qdq.tar")
    x = np.random.default_rng(4).random((1, 1, 8, 8), dtype=np.float32)
    want = onnxruntime_outputs(qdq_model, {"x": x})[0]
    with generate(compiled.archive, tmp_path / "project", "host", {}) as project:
        _, output = run_standalone(project, compiled.archive, x)
    np.testing.assert_array_equal(output.reshape(want.shape), want)
