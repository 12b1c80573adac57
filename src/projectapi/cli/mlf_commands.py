"""``projectapi mlf``: inspect, validate and pack Model Library Format archives."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from projectapi.cli import output
from projectapi.cli.parsing import add_command, add_json
from projectapi.mlf import report
from projectapi.mlf.checks import validate
from projectapi.mlf.errors import MLFError
from projectapi.mlf.example import build_example_archive, example_input, example_reference
from projectapi.mlf.library import open_library
from projectapi.mlf.writer import DEFAULT_TARGET, TensorSpec, pack

_TENSOR_HELP = "NAME:DTYPE:SHAPE, e.g. input:float32:1,32 (repeat for more)"
_ARCHIVE_HELP = "MLF tar (plain or gzip) or extracted directory"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``mlf`` and its subcommands."""
    mlf = add_command(
        subparsers,
        "mlf",
        "inspect, validate, pack and write example Model Library Format archives",
        "projectapi mlf example model.tar\nprojectapi mlf inspect model.tar",
    )
    commands = mlf.add_subparsers(
        dest="mlf_command", required=True, metavar="SUBCOMMAND", help="one of:"
    )

    for name, summary, func in (
        ("inspect", "summarise an archive's models, I/O and memory", _inspect),
        ("validate", "check an archive against the format; exit status 1 on problems", _validate),
    ):
        reader = add_command(commands, name, summary, f"projectapi mlf {name} model.tar")
        reader.add_argument("archive", type=Path, help=_ARCHIVE_HELP)
        add_json(reader)
        reader.set_defaults(func=func)

    packer = add_command(
        commands,
        "pack",
        "build a version-7 archive from AOT C-interface sources",
        "projectapi mlf pack -o add.tar --name add --source add.c "
        "--input x:float32:4 --output y:float32:4",
    )
    packer.add_argument(
        "-o",
        "--output-archive",
        type=Path,
        required=True,
        metavar="ARCHIVE",
        help="archive to write",
    )
    packer.add_argument("--name", required=True, help="model name M (code uses tvmgen_<M>_run)")
    packer.add_argument(
        "--source",
        type=Path,
        action="append",
        required=True,
        metavar="FILE",
        help="C source (repeat)",
    )
    packer.add_argument(
        "--header", type=Path, metavar="FILE", help="tvmgen_<M>.h to include (default: generated)"
    )
    packer.add_argument(
        "--input", dest="inputs", action="append", required=True, metavar="SPEC", help=_TENSOR_HELP
    )
    packer.add_argument(
        "--output",
        dest="outputs",
        action="append",
        required=True,
        metavar="SPEC",
        help=_TENSOR_HELP,
    )
    packer.add_argument(
        "--workspace-bytes",
        type=int,
        metavar="N",
        help="workspace the code needs (default: header)",
    )
    packer.add_argument(
        "--constants-bytes", type=int, default=0, metavar="N", help="bytes of constants"
    )
    packer.add_argument("--target", default=DEFAULT_TARGET, help="TVM target string to record")
    add_json(packer)
    packer.set_defaults(func=_pack)

    example = add_command(
        commands,
        "example",
        "write the bundled example model and its reference input and output (.npy)",
        "projectapi mlf example model.tar   # writes model.tar, model.input.npy, model.output.npy",
    )
    example.add_argument("archive", type=Path, help="archive to write, e.g. model.tar")
    add_json(example)
    example.set_defaults(func=_example)


def _inspect(args: argparse.Namespace) -> int:
    library = open_library(args.archive)
    output.emit(args, report.to_dict(library), lambda: print(report.summary(library)))
    return 0


def _validate(args: argparse.Namespace) -> int:
    library = validate(args.archive)
    data = {"archive": str(args.archive), "version": library.version, "models": len(library.models)}
    output.emit(
        args,
        data,
        f"{args.archive}: valid Model Library Format v{library.version} ({len(library.models)} model(s))",
    )
    return 0


def _pack(args: argparse.Namespace) -> int:
    library = pack(
        args.output_archive,
        model_name=args.name,
        sources={path.name: _read(path) for path in args.source},
        inputs=[_tensor_spec("--input", text) for text in args.inputs],
        outputs=[_tensor_spec("--output", text) for text in args.outputs],
        header=_read(args.header) if args.header else None,
        workspace_size_bytes=args.workspace_bytes,
        constants_size_bytes=args.constants_bytes,
        target=args.target,
    )
    output.emit(args, {"archive": str(library.path)}, f"wrote {library.path}")
    return 0


def _example(args: argparse.Namespace) -> int:
    archive = build_example_archive(args.archive)
    inputs = example_input()
    outputs = example_reference(inputs)
    stem = archive.with_suffix("")
    written = {"archive": str(archive)}
    for kind, tensors in (("input", inputs), ("output", outputs)):
        ((name, only),) = tensors.items()
        path = stem.with_name(f"{stem.name}.{kind}.npy")
        np.save(path, only)
        written[kind] = {"name": name, "file": str(path)}
    output.emit(
        args,
        written,
        f"wrote {archive}, its input {written['input']['name']} as {stem.name}.input.npy and "
        f"the reference output {written['output']['name']} as {stem.name}.output.npy",
    )
    return 0


def _read(path: Path) -> bytes:
    """A file given on the command line, or an error naming it."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise MLFError(f"cannot read {path}: {error.strerror}") from None


def _tensor_spec(option: str, text: str) -> TensorSpec:
    """Parse ``NAME:DTYPE:SHAPE``; the name may itself contain ``:`` (``input:0``)."""
    parts = text.rsplit(":", 2)
    dims = parts[-1].replace("x", ",").split(",") if len(parts) == 3 else []
    if len(parts) != 3 or not parts[0] or not all(re.fullmatch(r"\d+", d.strip()) for d in dims):
        raise MLFError(f"{option} {text!r}: expected {_TENSOR_HELP}")
    return TensorSpec(parts[0], parts[1], tuple(int(d) for d in dims))
