"""What users get wrong or what the compiler cannot do fails at compile time, naming the
operator, the node, the input or the package to install; nothing is left behind."""

from __future__ import annotations

import subprocess
import sys

import onnx
import pytest
from onnx import TensorProto, helper

from projectapi.cli import main as cli_main
from projectapi.compile import CompileError, compile_model

from .compile_testlib import MNIST_ONNX
from .onnx_conformance import DATA_DIR


def _model(nodes, inputs, outputs, opset: int = 13) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _tensor(name: str, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def test_unsupported_operator_is_named_with_its_node(tmp_path) -> None:
    model = _model(
        [
            helper.make_node("Relu", ["x"], ["y"], name="first"),
            helper.make_node("MadeUpOp", ["y"], ["z"], name="mystery"),
        ],
        [_tensor("x", [1, 4])],
        [_tensor("z", [1, 4])],
    )
    with pytest.raises(CompileError, match=r"unsupported ONNX operator: MadeUpOp \(node mystery\)"):
        compile_model(model, tmp_path / "m.tar")
    real = DATA_DIR / "simple" / "test_gradient_of_add" / "model.onnx"
    with pytest.raises(CompileError, match=r"Gradient \(node my_gradient\)"):
        compile_model(real, tmp_path / "m.tar")
    assert list(tmp_path.iterdir()) == []


def test_dynamic_input_needs_a_shape(tmp_path, capsys) -> None:
    path = tmp_path / "dynamic.onnx"
    onnx.save(
        _model(
            [helper.make_node("Relu", ["x"], ["y"])],
            [_tensor("x", ["batch", 4])],
            [_tensor("y", ["batch", 4])],
        ),
        str(path),
    )
    archive = tmp_path / "m.tar"
    assert cli_main(["compile", str(path), str(archive)]) == 1
    err = capsys.readouterr().err
    assert "input 'x' has a dynamic dimension 0 (batch)" in err
    assert "--input-shape x=D0,D1,..." in err
    assert not archive.exists()
    assert cli_main(["compile", str(path), str(archive), "--input-shape", "x=3,4"]) == 0
    assert archive.is_file()


def test_data_dependent_shape_is_refused_at_compile_time(tmp_path) -> None:
    model = _model(
        [helper.make_node("NonZero", ["x"], ["i"], name="where_nonzero")],
        [_tensor("x", [2, 3])],
        [_tensor("i", [2, "n"], TensorProto.INT64)],
    )
    with pytest.raises(
        CompileError, match=r"operator relax.run.nonzero \(binding '\w+'\) has no C"
    ):
        compile_model(model, tmp_path / "m.tar")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input-shape", "Input3=1,a"], "dimensions must be integers"),
        (["--input-shape", "Input3"], "expected NAME=VALUE"),
        (["--input-shape", "image=1,1,28,28"], "'image' is not a model input; inputs are: Input3"),
        (["--name", "Net"], "model name 'Net': use lower-case letters"),
    ],
)
def test_bad_options_are_named(argv, message, tmp_path, capsys) -> None:
    assert cli_main(["compile", str(MNIST_ONNX), str(tmp_path / "m.tar"), *argv]) == 1
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unknown_file_kinds_are_refused(tmp_path) -> None:
    other = tmp_path / "model.tflite"
    other.write_bytes(b"\0")
    with pytest.raises(CompileError, match=r"expected an ONNX \(.onnx\) or PyTorch"):
        compile_model(other, tmp_path / "m.tar")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a protobuf")
    with pytest.raises(CompileError, match="not a readable ONNX model"):
        compile_model(broken, tmp_path / "m.tar")
    with pytest.raises(CompileError, match="unknown target 'cortex-a53'"):
        compile_model(MNIST_ONNX, tmp_path / "m.tar", target="cortex-a53")


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_missing_extra_names_the_install_command(tmp_path) -> None:
    done = _python(
        "import sys; sys.modules['tvm'] = None\n"
        "from projectapi.cli import main\n"
        f"sys.exit(main(['compile', {str(MNIST_ONNX)!r}, {str(tmp_path / 'm.tar')!r}]))"
    )
    assert done.returncode == 1
    assert "pip install 'projectapi[compile]'" in done.stderr
    assert "apache-tvm" in done.stderr


def test_importing_projectapi_does_not_import_tvm() -> None:
    done = _python(
        "import sys, projectapi\n"
        "import projectapi.compile, projectapi.cli\n"
        "assert callable(projectapi.compile)\n"
        "print(sorted(m for m in ('tvm', 'torch', 'onnx') if m in sys.modules))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
