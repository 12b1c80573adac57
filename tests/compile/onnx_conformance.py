"""The ONNX backend test models shipped in the ``onnx`` wheel, compiled and run on the host
template, judged against their reference outputs (and onnxruntime).

Every model is compiled on its own (that decides "compile-refused"). The models that compile are
then run in a few builds instead of 120: they are merged into one ONNX model per opset (names
prefixed ``m<i>_``, graphs side by side, no edges between them), compiled once more, built once
with the host template and run once. ``python -m tests.compile.onnx_conformance`` prints the
tables of ``docs/compile.md``.
"""

from __future__ import annotations

import collections
import pathlib
import tempfile
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from projectapi import mlf, run
from projectapi.compile import CompileError, compile_model
from projectapi.project import TemplateProject
from projectapi.tensors import model_layouts

SUITES = ("pytorch-converted", "pytorch-operator", "simple")
DATA_DIR = pathlib.Path(onnx.__file__).parent / "backend" / "test" / "data"
# The ONNX backend tests' relative tolerance; an absolute one for float32 C against numpy.
RTOL, ATOL = 1e-3, 1e-5


@dataclass(frozen=True)
class Case:
    """One test model with its first data set."""

    suite: str
    name: str
    model: onnx.ModelProto
    inputs: tuple[np.ndarray, ...]
    expected: tuple[np.ndarray, ...]

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(sorted({node.op_type for node in self.model.graph.node}))

    @property
    def opsets(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted((o.domain, o.version) for o in self.model.opset_import))


@dataclass(frozen=True)
class Outcome:
    """pass, refused (at compile time) or wrong (ran, outputs differ), with a detail."""

    case: Case
    status: str
    detail: str = ""


def _tensors(folder: pathlib.Path, prefix: str) -> tuple[np.ndarray, ...]:
    files = sorted(folder.glob(f"{prefix}_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
    return tuple(numpy_helper.to_array(onnx.load_tensor(str(f))) for f in files)


def cases() -> list[Case]:
    """Every model of the three suites, in a stable order."""
    found = []
    for suite in SUITES:
        for folder in sorted((DATA_DIR / suite).iterdir()):
            data = folder / "test_data_set_0"
            found.append(
                Case(
                    suite,
                    folder.name,
                    onnx.load(str(folder / "model.onnx")),
                    _tensors(data, "input"),
                    _tensors(data, "output"),
                )
            )
    return found


def _refusal(case: Case, workdir: pathlib.Path) -> str | None:
    """None when the model compiles on its own, else the compiler's message."""
    try:
        compile_model(case.model, workdir / f"{case.name}.tar")
    except CompileError as error:
        return str(error).splitlines()[0]
    return None


def bundle(group: list[Case]) -> onnx.ModelProto:
    """The models of one opset side by side in one graph, every name prefixed ``m<i>_``."""
    graphs = [onnx.compose.add_prefix(c.model, prefix=f"m{i}_").graph for i, c in enumerate(group)]
    graph = onnx.helper.make_graph(
        nodes=[n for g in graphs for n in g.node],
        name="bundle",
        inputs=[v for g in graphs for v in g.input],
        outputs=[v for g in graphs for v in g.output],
        initializer=[t for g in graphs for t in g.initializer],
        value_info=[v for g in graphs for v in g.value_info],
    )
    opsets = [onnx.helper.make_opsetid(domain, version) for domain, version in group[0].opsets]
    return onnx.helper.make_model(
        graph, opset_imports=opsets, ir_version=max(c.model.ir_version for c in group)
    )


def run_bundle(group: list[Case], workdir: pathlib.Path) -> list[tuple[np.ndarray, ...]]:
    """Compile, build (host template) and run one bundle; the outputs of each case."""
    archive = workdir / "bundle.tar"
    compile_model(bundle(group), archive)
    model = mlf.open(archive).model()
    ins, outs = model_layouts(model)
    values = [x for case in group for x in case.inputs]
    if len(values) != len(ins):
        raise AssertionError(f"bundle has {len(ins)} inputs, the cases {len(values)}")
    feed = {layout.name: v.astype(layout.dtype) for layout, v in zip(ins, values, strict=True)}
    with TemplateProject("host") as template:
        project = template.generate_project(archive, workdir / "project", {})
    with project:
        project.build()
        with run.open_runner(project, model, timeout=120) as runner:
            runner.set_inputs(feed)
            runner.run()
            outputs = runner.get_outputs()
    flat = [outputs[layout.name] for layout in outs]
    per_case, start = [], 0
    for case in group:
        per_case.append(tuple(flat[start : start + len(case.expected)]))
        start += len(case.expected)
    return per_case


def _close(got: tuple[np.ndarray, ...], want: tuple[np.ndarray, ...]) -> str:
    """'' when every output matches, else what differs first."""
    for index, (g, w) in enumerate(zip(got, want, strict=True)):
        w = np.asarray(w)
        g = np.asarray(g).astype(w.dtype).reshape(w.shape)
        if w.dtype.kind in "fc":
            if not np.allclose(g, w, rtol=RTOL, atol=ATOL, equal_nan=True):
                return f"output {index}: max abs error {np.nanmax(np.abs(g - w)):.3g}"
        elif not np.array_equal(g, w):
            return f"output {index}: {int(np.sum(g != w))} of {w.size} elements differ"
    return ""


def _onnxruntime(case: Case) -> tuple[np.ndarray, ...] | None:
    """onnxruntime's outputs for the case, or None when it cannot run the model."""
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(case.model.SerializeToString())
        names = [i.name for i in session.get_inputs()]
        return tuple(session.run(None, dict(zip(names, case.inputs, strict=True))))
    except Exception:
        return None


def judge(case: Case, got: tuple[np.ndarray, ...]) -> Outcome:
    """Pass when the outputs match the reference, or onnxruntime where it disagrees with it."""
    problem = _close(got, case.expected)
    if not problem:
        return Outcome(case, "pass")
    anchor = _onnxruntime(case)
    if anchor is not None and not _close(got, anchor):
        return Outcome(case, "pass", "matches onnxruntime, not the reference file")
    return Outcome(case, "wrong", problem)


def sweep(workdir: pathlib.Path) -> list[Outcome]:
    """Compile every case, run those that compile, and judge them."""
    outcomes: dict[str, Outcome] = {}
    groups: dict[tuple, list[Case]] = collections.defaultdict(list)
    all_cases = cases()
    for case in all_cases:
        refusal = _refusal(case, workdir)
        if refusal is None:
            groups[case.opsets].append(case)
        else:
            outcomes[case.name] = Outcome(case, "refused", refusal)
    for number, group in enumerate(groups.values()):
        folder = workdir / f"bundle{number}"
        folder.mkdir()
        for case, got in zip(group, run_bundle(group, folder), strict=True):
            outcomes[case.name] = judge(case, got)
    return [outcomes[case.name] for case in all_cases]


def operator_table(outcomes: list[Outcome]) -> str:
    """Markdown: per operator, how many models using it pass, are refused, or are wrong."""
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for outcome in outcomes:
        for op in outcome.case.operators:
            counts[op][outcome.status] += 1
    rows = ["| operator | pass | compile-refused | wrong |", "|---|---:|---:|---:|"]
    for op in sorted(counts):
        c = counts[op]
        rows.append(f"| {op} | {c['pass']} | {c['refused']} | {c['wrong']} |")
    return "\n".join(rows)


def failure_table(outcomes: list[Outcome]) -> str:
    """Markdown: every model that does not pass, with the reason."""
    rows = ["| model | suite | result | detail |", "|---|---|---|---|"]
    for o in outcomes:
        if o.status != "pass":
            detail = o.detail.replace("|", "\\|")
            rows.append(f"| {o.case.name} | {o.case.suite} | {o.status} | {detail} |")
    return "\n".join(rows)


def summary(outcomes: list[Outcome]) -> collections.Counter:
    return collections.Counter(o.status for o in outcomes)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as temp:
        results = sweep(pathlib.Path(temp))
    print(dict(summary(results)))
    print()
    print(operator_table(results))
    print()
    print(failure_table(results))
