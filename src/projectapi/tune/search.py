"""TVM's MetaSchedule search timed on the device: a builder and a runner backed by the pool.

The builder turns each candidate schedule into an operator archive (``tasks.operator_archive``);
the runner measures a batch of them on the pool's boards (``MeasurePool``), each checked against
the task's untuned operator archive, and hands MetaSchedule the device seconds. Everything is
recorded in the results database as well, so a repeated search re-measures nothing.

For target ``c`` TVM has no default rules; ``space()`` gives an explicit CPU set. Creating a
``TuneContext`` imports ``tvm.s_tir.tensor_intrin``, which registers GPU, DSP and x86/Arm
tensor intrinsics (over a minute here, most of it CUDA) that a ``c`` search never uses;
``without_tensor_intrinsics`` stands an empty module in for it during the search only.
"""

from __future__ import annotations

import contextlib
import pathlib
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from projectapi.compile.pipeline import make_target
from projectapi.tune.database import MeasureResult
from projectapi.tune.measure import Candidate
from projectapi.tune.pool import MeasurePool
from projectapi.tune.tasks import Task, TuningModel, operator_archive

TASK_ATTR = "projectapi_task"
TENSOR_INTRIN_MODULE = "tvm.s_tir.tensor_intrin"
ERROR_LIMIT = 2000


@contextlib.contextmanager
def without_tensor_intrinsics() -> Iterator[None]:
    """While inside, importing ``tvm.s_tir.tensor_intrin`` registers nothing and costs nothing.

    Only for searches whose rules tensorize nothing (ours); a module that was imported before
    stays as it was, and the stand-in is removed on the way out.
    """
    if TENSOR_INTRIN_MODULE in sys.modules:
        yield
        return
    stand_in = types.ModuleType(TENSOR_INTRIN_MODULE, "no tensor intrinsics: target c")
    sys.modules[TENSOR_INTRIN_MODULE] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(TENSOR_INTRIN_MODULE) is stand_in:
            del sys.modules[TENSOR_INTRIN_MODULE]


def space() -> Any:
    """The search space for target ``c``: tiling, inlining, unrolling; no vectors, no threads."""
    from tvm.s_tir import meta_schedule as ms

    rules = [
        ms.schedule_rule.AutoInline(
            into_producer=False,
            into_consumer=True,
            inline_const_tensor=True,
            disallow_if_then_else=True,
            require_injective=True,
            require_ordered=True,
            disallow_op=["tirx.exp"],
        ),
        ms.schedule_rule.MultiLevelTiling(
            structure="SSRSRS",
            max_innermost_factor=64,
            reuse_write=ms.schedule_rule.ReuseType(req="may", levels=[1, 2], scope="global"),
        ),
        ms.schedule_rule.ParallelizeVectorizeUnroll(
            max_jobs_per_core=-1, max_vectorize_extent=-1, unroll_max_steps=[0, 16, 64, 512]
        ),
        ms.schedule_rule.RandomComputeLocation(),
    ]
    postprocs = [
        ms.postproc.DisallowDynamicLoop(),
        ms.postproc.RewriteParallelVectorizeUnroll(),
        ms.postproc.RewriteReductionBlock(),
    ]
    mutators = {
        ms.mutator.MutateTileSize(): 0.9,
        ms.mutator.MutateComputeLocation(): 0.05,
        ms.mutator.MutateUnroll(): 0.03,
    }
    return ms.space_generator.PostOrderApply(
        sch_rules=rules, postprocs=postprocs, mutator_probs=mutators
    )


def task_module(task: Task) -> Any:
    """The IRModule MetaSchedule searches for ``task`` (its function, tagged with its name)."""
    import tvm

    return tvm.IRModule({"main": task.func.with_attr(TASK_ATTR, task.name)})


@dataclass
class SearchState:
    """What the builder and runner share: the model, the pool, each task's reference."""

    model: TuningModel
    pool: MeasurePool
    artifacts: pathlib.Path
    references: dict[str, Candidate]
    on_result: Callable[[MeasureResult], None] | None = None
    built: int = 0

    def task(self, name: str) -> Task:
        """The task called ``name``."""
        return next(t for t in self.model.tasks if t.name == name)


def make_builder(state: SearchState) -> Any:
    """A MetaSchedule builder writing each candidate as an operator archive."""
    from tvm.ir.utils import derived_object
    from tvm.s_tir import meta_schedule as ms

    @derived_object
    class DeviceBuilder(ms.builder.PyBuilder):
        def build(self, build_inputs: list) -> list:
            results = []
            for build_input in build_inputs:
                func = build_input.mod["main"]
                name = str(func.attrs[TASK_ATTR])
                state.built += 1
                folder = state.artifacts / name
                folder.mkdir(parents=True, exist_ok=True)
                dest = folder / f"candidate-{state.built}.tar"
                try:
                    operator_archive(
                        state.model, state.task(name), func.without_attr(TASK_ATTR), dest
                    )
                except Exception as error:  # a schedule TVM cannot turn into C: a failed build
                    results.append(ms.builder.BuilderResult(None, str(error)[:ERROR_LIMIT]))
                    continue
                results.append(ms.builder.BuilderResult(str(dest), None))
            return results

    return DeviceBuilder()


def make_runner(state: SearchState) -> Any:
    """A MetaSchedule runner measuring each batch on the pool's boards."""
    from tvm.ir.utils import derived_object
    from tvm.s_tir import meta_schedule as ms

    @derived_object
    class DoneFuture(ms.runner.PyRunnerFuture):
        def __init__(self, result: Any) -> None:
            super().__init__()
            self._result = result

        def done(self) -> bool:
            return True

        def result(self) -> Any:
            return self._result

    @derived_object
    class DeviceRunner(ms.runner.PyRunner):
        def run(self, runner_inputs: list) -> list:
            paths = [pathlib.Path(str(i.artifact_path)) for i in runner_inputs]
            by_task: dict[str, list[Candidate]] = {}
            for path in paths:
                by_task.setdefault(path.parent.name, []).append(Candidate.from_path(path))
            measured: dict[str, MeasureResult] = {}
            for name, candidates in by_task.items():
                report = state.pool.measure(candidates, state.references[name], state.on_result)
                measured.update({r.archive: r for r in report.results})
            return [DoneFuture(_runner_result(measured.get(str(p.absolute())))) for p in paths]

    return DeviceRunner()


def _runner_result(result: MeasureResult | None) -> Any:
    from tvm.s_tir import meta_schedule as ms

    if result is None:
        return ms.runner.RunnerResult(None, "not measured")
    if not result.ok:
        return ms.runner.RunnerResult(None, f"{result.status}: {result.error}"[:ERROR_LIMIT])
    return ms.runner.RunnerResult(list(result.times), None)


def tune(
    state: SearchState, trials: int, work_dir: pathlib.Path, per_iteration: int
) -> Mapping[str, Any]:
    """Search every task within ``trials`` candidates in all; the best function per task
    (tasks where nothing beat or matched the reference are left out)."""
    from tvm.s_tir import meta_schedule as ms

    target = make_target(state.model.target)
    work_dir.mkdir(parents=True, exist_ok=True)
    with without_tensor_intrinsics():
        contexts = [
            ms.TuneContext(
                mod=task_module(task),
                target=target,
                space_generator=space(),
                search_strategy=ms.search_strategy.EvolutionarySearch(),
                task_name=task.name,
                num_threads=1,
            )
            for task in state.model.tasks
        ]
        database = ms.database.JSONDatabase(work_dir=str(work_dir))
        ms.tune_tasks(
            tasks=contexts,
            task_weights=[float(task.calls) for task in state.model.tasks],
            work_dir=str(work_dir),
            max_trials_global=trials,
            num_trials_per_iter=per_iteration,
            builder=make_builder(state),
            runner=make_runner(state),
            database=database,
            cost_model="random",
            measure_callbacks=[
                ms.measure_callback.AddToDatabase(),
                ms.measure_callback.UpdateCostModel(),
            ],
            task_scheduler="round-robin",
        )
        best = {}
        for task in state.model.tasks:
            schedule = database.query_schedule(task_module(task), target, workload_name="main")
            if schedule is not None:
                best[task.name] = schedule.mod["main"].without_attr(TASK_ATTR)
    return best
