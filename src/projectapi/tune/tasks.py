"""A model's kernels as tuning tasks, and archives built from chosen schedules (needs TVM).

A task is one fused kernel (a PrimFunc as ``pipeline.fuse`` leaves it, before projectapi's
own ``schedule``). A candidate schedule of it becomes an *operator archive*: a model whose main
function calls only that kernel, on inputs the caller gives, built by the same machinery as
``projectapi compile`` (planned pool, plain-C driver); so its device time is the kernel's. The
chosen schedules then replace the kernels of the whole model in the tuned archive.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from projectapi.compile import archive, frontends, pipeline
from projectapi.compile.errors import require
from projectapi.compile.schedule import schedule_kernels


@dataclass(frozen=True)
class Task:
    """One kernel to tune: its unscheduled function and how the model calls it."""

    name: str
    func: Any  # tvm.tirx.PrimFunc, unscheduled
    inputs: int  # leading parameters the caller passes; the rest are outputs
    calls: int  # how often the model calls it (the task's weight)
    constants: tuple[Any, ...] = ()  # per input: the model's constant (weights), else None


@dataclass(frozen=True)
class TuningModel:
    """A model loaded and fused once, for many candidate archives."""

    fused: Any  # the Relax module after pipeline.fuse
    target: str
    tasks: tuple[Task, ...]


def _call_sites(main: Any) -> list[tuple[str, tuple[Any, ...]]]:
    """(kernel name, its arguments: a constant or None) of every call_tir in ``main``."""
    import tvm
    from tvm import relax

    sites = []
    call_tir = tvm.ir.Op.get("relax.call_tir")

    def visit(expr: Any) -> None:
        if isinstance(expr, relax.Call) and expr.op.same_as(call_tir):
            arguments = tuple(
                field if isinstance(field, tvm.ir.Constant) else None
                for field in expr.args[1].fields
            )
            sites.append((expr.args[0].name_hint, arguments))

    relax.analysis.post_order_visit(main.body, visit)
    return sites


def load(
    model: Any,
    target: str,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    input_dtypes: Mapping[str, str] | None = None,
) -> TuningModel:
    """Load and fuse ``model`` (as ``projectapi compile`` takes it); its kernels as tasks."""
    require("tvm", "apache-tvm")
    pipeline.make_target(target)
    relax_module = frontends.load_model(model, input_shapes=input_shapes, input_dtypes=input_dtypes)
    fused = pipeline.fuse(relax_module, target)
    counts: dict[str, int] = {}
    arguments: dict[str, tuple[Any, ...]] = {}
    for name, given in _call_sites(fused["main"]):
        counts[name] = counts.get(name, 0) + 1
        arguments.setdefault(name, given)  # the first call's constants stand for the task
    tasks = tuple(
        Task(
            gv.name_hint,
            fused[gv],
            len(arguments[gv.name_hint]),
            counts[gv.name_hint],
            arguments[gv.name_hint],
        )
        for gv in fused.get_global_vars()
        if gv.name_hint in counts
    )
    return TuningModel(fused, target, tasks)


def operator_module(task: Task, func: Any) -> Any:
    """A Relax module whose main calls ``func`` (a schedule of ``task``) once.

    The model's constants (weights) stay constants, so the kernel reads them from where the
    model keeps them and they need not travel to the device; the other arguments are inputs.
    """
    import tvm
    from tvm import relax

    buffers = [(tuple(int(d) for d in param.shape), str(param.dtype)) for param in func.params]
    builder = relax.BlockBuilder()
    constants = list(task.constants) or [None] * task.inputs
    if all(c is not None for c in constants):
        constants[0] = None  # an archive needs an input
    arguments = [
        constant if constant is not None else relax.Var(f"arg{i}", relax.TensorType(shape, dtype))
        for i, ((shape, dtype), constant) in enumerate(
            zip(buffers[: task.inputs], constants, strict=True)
        )
    ]
    params = [a for a in arguments if isinstance(a, relax.Var)]
    outputs = [relax.TensorType(shape, dtype) for shape, dtype in buffers[task.inputs :]]
    with builder.function("main", params):
        kernel = builder.add_func(func.with_attr("global_symbol", task.name), task.name)
        with builder.dataflow():
            result = builder.emit_output(
                relax.call_tir(kernel, arguments, outputs[0] if len(outputs) == 1 else outputs)
            )
        builder.emit_func_output(result)
    return tvm.IRModule(builder.get().functions)


def _write(lowered: pipeline.Lowered, dest: str | os.PathLike[str], target: str) -> Any:
    return archive.write_archive(
        lowered, dest, name="default", target=target, started=time.perf_counter()
    )


def operator_archive(
    model: TuningModel, task: Task, func: Any, dest: str | os.PathLike[str]
) -> Any:
    """The archive of ``task`` alone, scheduled as ``func`` (None: projectapi's own schedule)."""
    import tvm

    with (
        pipeline.make_target(model.target),
        tvm.transform.PassContext(opt_level=3, config=pipeline.PASS_CONFIG),
    ):
        module = operator_module(task, task.func)
        if func is None:
            module = schedule_kernels(module)
        else:
            module[task.name] = func.with_attr("global_symbol", task.name)
    return _write(pipeline.plan_and_build(module, model.target), dest, model.target)


def model_archive(
    model: TuningModel, chosen: Mapping[str, Any], dest: str | os.PathLike[str]
) -> Any:
    """The whole model, each kernel in ``chosen`` (by task name) replaced by its schedule."""
    import tvm

    with (
        pipeline.make_target(model.target),
        tvm.transform.PassContext(opt_level=3, config=pipeline.PASS_CONFIG),
    ):
        module = schedule_kernels(model.fused)
        for name, func in chosen.items():
            module[name] = func.with_attr("global_symbol", name)
    return _write(pipeline.plan_and_build(module, model.target), dest, model.target)
