"""Host template speed: generate, first build, no-change rebuild, runtime overhead, build cache.

For each real AOT archive (and the bundled example) this generates a host project, builds it,
rebuilds it with nothing changed, then times one inference in the standalone program against
the same MLF code called directly from a minimal C harness built with the same flags.
Then, with an empty build cache, it builds two projects of one configuration one after the
other (host, and a QEMU board): the second takes the runtime and the firmware's own objects from
the cache and compiles only the model (target: at most 0.3x the first's build time).
Prints the tables. Run: ``.venv/bin/python benchmarks/host_template.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import tempfile
import time

from benchdata import MLF_DIR

import microtvm_kit
from microtvm_kit import model_glue, runtime_cache
from projectapi.mlf import example, extract_archive
from projectapi.project import TemplateProject

ARCHIVES = ("mnist_aot_c", "mnist_aot_packed", "mnist_aot_packed_syslib", "qnn_dense_int8_aot_c")
RUNTIME_INCLUDE = microtvm_kit.RUNTIME_DIR / "include"
# Alternating batches of program and harness, timed by the CPU time each process used (start-up
# included); the fastest batch of each counts, filtering out interference from other processes.
BATCHES = 7
MIN_BATCH_SEC = 0.2

_HARNESS = """\
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <tvm/runtime/c_runtime_api.h>
{include}
{buffers}
static double now(void) {{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}}
int main(int argc, char** argv) {{
  long runs = argc > 1 ? atol(argv[1]) : 100;
{setup}
  double start = now();
  for (long i = 0; i < runs; ++i) {{
    if ({call} != 0) return 1;
  }}
  printf("%.9f\\n", (now() - start) / (double)runs);
  return 0;
}}
"""


def _harness_source(model: model_glue.ModelInfo) -> str:
    """A C program that calls the model's entry point directly in a timed loop."""
    tensors = list(model.inputs) + list(model.outputs)
    buffers = "\n".join(
        f"static unsigned char buf{i}[{t.size_bytes}] __attribute__((aligned(16)));"
        for i, t in enumerate(tensors)
    )
    m = model.mangled
    if model.interface == "c":
        ins = ", ".join(f".{t.c_name} = buf{i}" for i, t in enumerate(model.inputs))
        outs = ", ".join(
            f".{t.c_name} = buf{len(model.inputs) + i}" for i, t in enumerate(model.outputs)
        )
        setup = (f"  struct {m}_inputs in = {{{ins}}};\n"
                 f"  struct {m}_outputs out = {{{outs}}};")
        return _HARNESS.format(include=f"#include <{m}.h>", buffers=buffers, setup=setup,
                               call=f"{m}_run(&in, &out)")
    shapes = "\n".join(
        f"static int64_t shape{i}[] = {{{', '.join(map(str, t.shape))}}};"
        for i, t in enumerate(tensors)
    )
    dl = ", ".join(
        f"{{buf{i}, {{kDLCPU, 0}}, {len(t.shape)}, {{{', '.join(map(str, t.dl_dtype))}}}, "
        f"shape{i}, NULL, 0}}"
        for i, t in enumerate(tensors)
    )
    n = len(tensors)
    setup = (f"  static DLTensor t[{n}] = {{{dl}}};\n  TVMValue a[{n}], r;\n"
             f"  int c[{n + 16}], rc = 0;\n"
             f"  for (int i = 0; i < {n + 16}; ++i) c[i] = kTVMDLTensorHandle;\n"
             f"  for (int i = 0; i < {n}; ++i) a[i].v_handle = &t[i];")
    proto = (f"int32_t {m}_run(TVMValue*, int*, int, TVMValue*, int*, void*);\n" + shapes)
    return _HARNESS.format(include=proto, buffers=buffers, setup=setup,
                           call=f"{m}_run(a, c, {n}, &r, &rc, NULL)")


def _build_harness(model_dir: pathlib.Path, work: pathlib.Path) -> pathlib.Path:
    model = model_glue.read_model(model_dir)
    source = work / "harness.c"
    source.write_text(_harness_source(model))
    includes = ["-I" + str(RUNTIME_INCLUDE)]
    if model.include_dir is not None:
        includes.append("-I" + str(model.include_dir))
    binary = work / "harness"
    subprocess.run(
        ["gcc", "-std=gnu99", "-O2", "-w", *includes, str(source),
         *map(str, model.sources), "-o", str(binary), "-lm"],
        check=True,
    )
    return binary


def _cpu_seconds_per_run(argv: list[str], runs: int) -> float:
    """CPU seconds (user + system) the child used, per run: steady on a shared machine."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed with exit code {proc.returncode}")
    return (usage.ru_utime + usage.ru_stime) / runs


def _program_seconds(program: pathlib.Path, runs: int) -> float:
    return _cpu_seconds_per_run([str(program), "--repeat", str(runs)], runs)


def _harness_seconds(harness: pathlib.Path, runs: int) -> float:
    return _cpu_seconds_per_run([str(harness), str(runs)], runs)


def _measure(name: str, archive: pathlib.Path, work: pathlib.Path, runs: int) -> dict:
    project_dir = work / "project"
    with TemplateProject("host") as template:
        start = time.perf_counter()
        project = template.generate_project(archive, project_dir)
        generate = time.perf_counter() - start
    with project:
        start = time.perf_counter()
        project.build()
        first_build = time.perf_counter() - start
        start = time.perf_counter()
        project.build()
        rebuild = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(["ninja", "-C", str(project_dir / "build")], capture_output=True, check=True)
    ninja = time.perf_counter() - start
    extract_archive(archive, work / "model")
    harness = _build_harness(work / "model", work)
    program = project_dir / "build" / "main"
    # Batches of at least MIN_BATCH_SEC each, so tiny models are timed over many runs.
    probe = 100
    while probe * _harness_seconds(harness, probe) < MIN_BATCH_SEC / 4:  # start-up dominates
        probe *= 10
    runs = max(runs, int(MIN_BATCH_SEC / _harness_seconds(harness, probe)))
    pairs = [(_program_seconds(program, runs), _harness_seconds(harness, runs))
             for _ in range(BATCHES)]
    standalone = min(p for p, _ in pairs)
    direct = min(h for _, h in pairs)
    return {"model": name, "generate": generate, "build": first_build, "rebuild": rebuild,
            "ninja": ninja, "standalone": standalone, "direct": direct}


# (template, archive, options) of the second-build comparison; the model is MNIST throughout.
SECOND_BUILDS = (
    ("host", "mnist_aot_c", {"project_type": "aot_standalone"}),
    ("host", "mnist_aot_c", {"project_type": "host_driven"}),
    ("qemu", "mnist_aot_c", {"board": "mps2-an385", "project_type": "aot_standalone"}),
    ("qemu", "mnist_aot_c", {"board": "mps2-an385", "project_type": "host_driven"}),
)
SECOND_BUILD_TARGET = 0.3


def _build_seconds(template: str, archive: pathlib.Path, where: pathlib.Path, options: dict) -> float:
    """Generate a project and time its build (server start not included)."""
    with TemplateProject(template) as factory:
        project = factory.generate_project(archive, where, options)
    with project:
        start = time.perf_counter()
        project.build()
        return time.perf_counter() - start


def measure_second_build(template: str, archive: pathlib.Path, work: pathlib.Path, options: dict) -> tuple[float, float]:
    """(first, second) build seconds of two projects of one configuration, cache empty at first."""
    previous = os.environ.get(runtime_cache.ENV_VAR)
    os.environ[runtime_cache.ENV_VAR] = str(work / "cache")
    try:
        first = _build_seconds(template, archive, work / "first", options)
        second = _build_seconds(template, archive, work / "second", options)
    finally:
        if previous is None:
            del os.environ[runtime_cache.ENV_VAR]
        else:
            os.environ[runtime_cache.ENV_VAR] = previous
    return first, second


def second_build_table(tmp: pathlib.Path) -> list[str]:
    """One line per configuration: first build, second build, their ratio."""
    lines = ["template | board | project type | first build s | second build s | second / first",
             "-------- | ----- | ------------ | ------------- | -------------- | --------------"]
    for index, (template, name, options) in enumerate(SECOND_BUILDS):
        work = tmp / f"second-{index}"
        work.mkdir()
        first, second = measure_second_build(template, MLF_DIR / f"{name}.tar", work, options)
        ratio = second / first
        verdict = "met" if ratio <= SECOND_BUILD_TARGET else "NOT met"
        lines.append(f"{template} | {options.get('board', '-')} | {options['project_type']} | "
                     f"{first:.2f} | {second:.2f} | {ratio:.2f}x (target {SECOND_BUILD_TARGET}x: {verdict})")
    return lines


def main() -> None:
    """Measure every archive and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000,
                        help="fewest inferences per timed batch (more for fast models)")
    parser.add_argument("--second-build-only", action="store_true",
                        help="only the build cache comparison")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="host-bench-") as tmp:
        second_builds = second_build_table(pathlib.Path(tmp))
        if args.second_build_only:
            print("\n".join(second_builds))
            return
        example_archive = pathlib.Path(tmp) / "example.tar"
        example.build_example_archive(example_archive)
        sources = [(name, MLF_DIR / f"{name}.tar") for name in ARCHIVES]
        sources.append(("example (mlp)", example_archive))
        for index, (name, archive) in enumerate(sources):
            if archive.is_file():
                work = pathlib.Path(tmp) / str(index)
                work.mkdir()
                rows.append(_measure(name, archive, work, args.runs))
    header = ("model", "generate s", "first build s", "rebuild s", "ninja no-op s",
              "standalone us", "direct C us", "overhead")
    print(" | ".join(header))
    print(" | ".join("-" * len(h) for h in header))
    for r in rows:
        print(" | ".join([
            r["model"], f"{r['generate']:.3f}", f"{r['build']:.2f}", f"{r['rebuild']:.3f}",
            f"{r['ninja']:.3f}", f"{r['standalone'] * 1e6:.2f}", f"{r['direct'] * 1e6:.2f}",
            f"{r['standalone'] / r['direct']:.3f}x",
        ]))
    print(f"(per-inference CPU time of the whole process: fastest of {BATCHES} alternating "
          f"batches of >= {args.runs} runs and >= {MIN_BATCH_SEC} s; "
          "rebuild = no-change build through the Project API server)")
    print()
    print("\n".join(second_builds))
    print("(build through the Project API server of a second project of the same configuration "
          "and model, the build cache filled by the first)")


if __name__ == "__main__":
    main()
