"""projectapi compile against TVM v0.14 on mnist-8: compile time, instructions, memory.

One run, side by side:

- compile wall time of ``projectapi compile mnist-8.onnx`` in a fresh process (TVM's import
  included) and of the compile step alone once TVM is imported, next to the 4.3 s TVM v0.14's
  ``tvmc compile`` took for the same model on this kind of machine (a quoted figure: TVM v0.14
  no longer installs here);
- on mps2-an386 (Cortex-M4F) under QEMU ``-icount shift=0``, the instructions of one inference
  of our archive (target cortex-m4) and of TVM v0.14's ``mnist_aot_c`` archive, each in a
  standalone firmware built by the QEMU template;
- workspace and constants bytes (metadata.json) and the model code's .text, .rodata and
  .bss bytes (its object files as the firmware build compiled them).

Run: ``.venv/bin/python benchmarks/compile.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from benchdata import MLF_DIR, MODELS_DIR

from projectapi import mlf, run
from projectapi.project import GeneratedProject, TemplateProject
from projectapi.tensors import model_layouts

MNIST_ONNX = MODELS_DIR / "mnist-8.onnx"
BASELINE = MLF_DIR / "mnist_aot_c.tar"
TVMC_SECONDS = 4.3  # TVM v0.14 `tvmc compile` of mnist-8 (quoted, see the module docstring)
BOARD = "mps2-an386"


# The CLI in a fresh process; with ``hide_torch`` as if PyTorch were not installed (tvm-ffi
# imports PyTorch whenever it can, which costs seconds).
_CLI = (
    "import sys\n"
    "if {hide_torch}: sys.modules['torch'] = None\n"
    "from projectapi.cli import main\n"
    "sys.exit(main(['compile', {model!r}, {out!r}]))"
)


def cli_seconds(out: pathlib.Path, runs: int, hide_torch: bool) -> float:
    """Best wall seconds of ``projectapi compile mnist-8.onnx`` in a fresh process."""
    code = _CLI.format(hide_torch=hide_torch, model=str(MNIST_ONNX), out=str(out))
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    return min(walls)


def step_seconds(out: pathlib.Path, runs: int) -> float:
    """Best seconds of the compile itself once TVM is imported (leaves the cortex-m4 archive)."""
    from projectapi.compile import compile_model

    compile_model(MNIST_ONNX, out)  # warm: TVM imported, caches filled
    return min(compile_model(MNIST_ONNX, out, target="cortex-m4").seconds for _ in range(runs))


def _firmware(archive: pathlib.Path, project_dir: pathlib.Path) -> GeneratedProject:
    with TemplateProject("qemu") as template:
        project = template.generate_project(
            archive, project_dir, {"board": BOARD, "project_type": "aot_standalone"}
        )
    project.build()
    return project


def _model_sections(project_dir: pathlib.Path) -> dict[str, int]:
    """.text, .rodata and .bss bytes of the model's object files (arm-none-eabi-size -A)."""
    totals = {"text": 0, "rodata": 0, "bss": 0}
    objects = sorted((project_dir / "build").rglob("model_code.dir/**/*.obj"))
    for obj in objects:
        listing = subprocess.run(
            ["arm-none-eabi-size", "-A", str(obj)], check=True, capture_output=True, text=True
        ).stdout
        for line in listing.splitlines()[2:]:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                for kind in totals:
                    if parts[0].startswith(f".{kind}"):
                        totals[kind] += int(parts[1])
    return totals


def measure(archive: pathlib.Path, x: np.ndarray, tmp: pathlib.Path, runs: int) -> dict:
    """Instructions per inference under -icount, sizes, and whether the output matched."""
    model = mlf.open(archive).model()
    ins, outs = model_layouts(model)
    with _firmware(archive, tmp / archive.stem) as project:
        report = json.loads((project.project_dir / "memory_report.json").read_text())
        with run.open_runner(project, model, transport_options={"icount": True}) as runner:
            runner.set_inputs({ins[0].name: x.reshape(ins[0].shape)})
            result = runner.run(runs)
            output = runner.get_outputs()[outs[0].name]
        sections = _model_sections(project.project_dir)
    return {
        "instructions": round(result.device_fastest * 1e9),  # shift=0: 1 ns per instruction
        "workspace": model.memory[0].workspace_size_bytes,
        "constants": model.memory[0].constants_size_bytes,
        **sections,
        "flash": report["flash_used"],
        "ram": report["ram_used"],
        "output": output.reshape(-1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each measurement")
    args = parser.parse_args()
    x = np.load(MLF_DIR / "mnist_aot_c.input.npy")
    with tempfile.TemporaryDirectory() as temp:
        tmp = pathlib.Path(temp)
        ours_archive = tmp / "mnist.tar"
        wall = cli_seconds(ours_archive, args.runs, hide_torch=False)
        wall_no_torch = cli_seconds(ours_archive, args.runs, hide_torch=True)
        step = step_seconds(ours_archive, args.runs)
        ours = measure(ours_archive, x, tmp, args.runs)
        theirs = measure(BASELINE, x, tmp, args.runs)
    agree = float(np.max(np.abs(ours.pop("output") - theirs.pop("output"))))
    print(f"{'measure':<36}{'projectapi':>12}{'TVM v0.14':>12}{'ratio':>8}")
    print(
        f"{'compile wall s (CLI, fresh process)':<36}{wall:>12.2f}{TVMC_SECONDS:>12.2f}"
        f"{wall / TVMC_SECONDS:>8.2f}"
    )
    print(
        f"{'  same, PyTorch not installed':<36}{wall_no_torch:>12.2f}{TVMC_SECONDS:>12.2f}"
        f"{wall_no_torch / TVMC_SECONDS:>8.2f}"
    )
    print(f"{'compile s (TVM already imported)':<36}{step:>12.2f}{'':>12}{'':>8}")
    labels = {
        "instructions": "instructions / inference (-icount)",
        "workspace": "workspace bytes (metadata)",
        "constants": "constants bytes (metadata)",
        "text": "model .text bytes",
        "rodata": "model .rodata bytes",
        "bss": "model .bss bytes",
        "flash": "firmware flash bytes",
        "ram": "firmware RAM bytes",
    }
    for key, label in labels.items():
        ratio = ours[key] / theirs[key] if theirs[key] else float("nan")
        print(f"{label:<36}{ours[key]:>12,}{theirs[key]:>12,}{ratio:>8.2f}")
    print(
        f"board {BOARD}; outputs of the two archives differ by at most {agree:.2e}; the v0.14 "
        "compile time is quoted, not measured (TVM v0.14 does not install on this Python)."
    )


if __name__ == "__main__":
    main()
