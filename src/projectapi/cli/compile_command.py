"""``projectapi compile``: an ONNX or PyTorch (.pt2) model into a Model Library Format archive."""

from __future__ import annotations

import argparse
from pathlib import Path

from projectapi.cli import output
from projectapi.cli.parsing import add_command, add_json
from projectapi.compile.errors import CompileError

_TARGETS = (
    "host",
    "cortex-m0",
    "cortex-m3",
    "cortex-m4",
    "cortex-m7",
    "cortex-m33",
    "cortex-m55",
    "rv32",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``compile``."""
    parser = add_command(
        subparsers,
        "compile",
        "compile an ONNX or PyTorch (.pt2) model to an MLF archive (needs projectapi[compile])",
        "projectapi compile mnist-8.onnx model.tar --target cortex-m4\n"
        "projectapi compile net.pt2 model.tar --input-shape x=1,3,32,32",
    )
    parser.add_argument(
        "model", type=Path, help="model file: .onnx, or .pt2 from torch.export.save"
    )
    parser.add_argument("archive", type=Path, help="MLF archive (.tar) to write")
    parser.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=D0,D1,...",
        help="fix an ONNX input's shape (repeat for more inputs)",
    )
    parser.add_argument(
        "--input-dtype",
        action="append",
        default=[],
        metavar="NAME=DTYPE",
        help="override an ONNX input's dtype (repeat for more inputs)",
    )
    parser.add_argument("--target", choices=_TARGETS, default="host", help="code target")
    parser.add_argument("--name", default="default", help="model name M (code uses tvmgen_<M>_run)")
    add_json(parser)
    parser.set_defaults(func=_compile)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    """NAME=VALUE items into a mapping; a malformed item names the option."""
    result = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        if not sep or not name or not value:
            raise CompileError(f"{option} {item!r}: expected NAME=VALUE")
        result[name] = value
    return result


def _shapes(items: list[str]) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for name, text in _pairs(items, "--input-shape").items():
        try:
            shapes[name] = tuple(int(dim) for dim in text.split(","))
        except ValueError:
            raise CompileError(
                f"--input-shape {name}={text}: dimensions must be integers, e.g. 1,3,224,224"
            ) from None
    return shapes


def _compile(args: argparse.Namespace) -> int:
    from projectapi.compile import compile_model

    result = compile_model(
        args.model,
        args.archive,
        input_shapes=_shapes(args.input_shape),
        input_dtypes=_pairs(args.input_dtype, "--input-dtype"),
        target=args.target,
        name=args.name,
    )

    def tensors(items: tuple) -> str:
        return ", ".join(f"{t.name} {t.dtype}{list(t.shape)}" for t in items)

    text = "\n".join(
        [
            f"wrote {result.archive} (model {result.name}, target {result.target})",
            f"  inputs:    {tensors(result.inputs)}",
            f"  outputs:   {tensors(result.outputs)}",
            f"  workspace: {result.workspace_size_bytes} bytes, constants: "
            f"{result.constants_size_bytes} bytes",
            f"  kernels:   {len(result.kernels)}, compiled in {result.seconds:.1f} s by TVM "
            f"{result.compiler['tvm']}",
        ]
    )
    output.emit(args, result.to_dict(), text)
    return 0
