"""Relax module -> kernel C source and a statically planned main function.

The Relax passes are those TVM's CPU pipeline runs before VM lowering, ending with
``StaticPlanBlockMemory``; the kernels are built with target ``c`` (vectorizer and argument
assertions off: plain C99 that any cross compiler takes, called only with tensors our driver
describes exactly). The planned main is then turned into plain C by ``driver``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from projectapi.compile.errors import CompileError, summary
from projectapi.compile.schedule import schedule_kernels

TARGETS = {
    "host": {"kind": "c"},
    **{
        f"cortex-m{n}": {"kind": "c", "mcpu": f"cortex-m{n}"}
        for n in ("0", "3", "4", "7", "33", "55")
    },
    "rv32": {"kind": "c", "march": "rv32imac"},
}
PASS_CONFIG = {"tirx.disable_vectorize": True, "tirx.disable_assert": True}


@dataclass(frozen=True)
class Lowered:
    """What the C generators need: the planned Relax main, the kernels' C, the target string."""

    main: Any  # tvm.relax.Function after StaticPlanBlockMemory
    kernel_source: str
    target: str


# C functions for TVM intrinsics its ``c`` code generator has no lowering for, by dtype.
_C_INTRINSICS = {"tirx.fabs": {"float32": "fabsf", "float64": "fabs"}}


@functools.cache
def _register_c_intrinsics() -> None:
    """Lower the intrinsics in ``_C_INTRINSICS`` to calls of <math.h> for target ``c``."""
    from tvm import tirx

    for op_name, functions in _C_INTRINSICS.items():

        def lower(call: Any, functions: dict[str, str] = functions) -> Any:
            name = functions.get(str(call.ty))
            return tirx.call_pure_extern(str(call.ty), name, *call.args) if name else call

        tirx.register_intrin_lowering(op_name, "c", f=lower, level=99)


def make_target(name: str) -> Any:
    """The TVM Target for one of ``TARGETS``' names."""
    import tvm

    if name not in TARGETS:
        raise CompileError(f"unknown target {name!r}; choose one of: {', '.join(TARGETS)}")
    return tvm.target.Target(TARGETS[name])


@contextlib.contextmanager
def _lowering(target_name: str) -> Iterator[Any]:
    """The target and pass context every lowering step runs in; TVM's errors become
    CompileError (ours pass through)."""
    import tvm

    target = make_target(target_name)
    _register_c_intrinsics()
    with target, tvm.transform.PassContext(opt_level=3, config=PASS_CONFIG):
        try:
            yield target
        except CompileError:
            raise
        except Exception as error:
            raise CompileError(f"TVM could not lower the model: {summary(error)}") from None


def fuse(mod: Any, target_name: str) -> Any:
    """Legalize and fuse ``mod``: its kernels as unscheduled PrimFuncs (what tuning searches)."""
    import tvm
    from tvm import relax

    passes = relax.transform
    with _lowering(target_name):
        return tvm.transform.Sequential(
            [
                passes.LegalizeOps(),
                passes.AnnotateTIROpPattern(),
                passes.FoldConstant(),
                passes.FuseOps(),
                passes.FuseTIR(),
                passes.DeadCodeElimination(),
            ]
        )(mod)


def plan_and_build(scheduled: Any, target_name: str) -> Lowered:
    """Plan the memory of a fused module whose kernels are scheduled; build the kernels as C."""
    import tvm
    from tvm import relax

    passes = relax.transform
    with _lowering(target_name) as target:
        planned = tvm.transform.Sequential(
            [
                passes.RewriteDataflowReshape(),
                passes.ToNonDataflow(),
                passes.RemovePurityChecking(),
                passes.CallTIRRewrite(),
                passes.StaticPlanBlockMemory(),
                passes.AttachGlobalSymbol(),
            ]
        )(scheduled)
        kernels = tvm.IRModule(
            {gv: f for gv, f in planned.functions.items() if isinstance(f, tvm.tirx.PrimFunc)}
        )
        source = _build_kernels(kernels, target) if kernels.functions else ""
    return Lowered(planned["main"], source, str(target))


def lower(mod: Any, target_name: str) -> Lowered:
    """Legalize, fuse, schedule (``schedule``) and plan ``mod``; build its kernels as C."""
    fused = fuse(mod, target_name)
    with _lowering(target_name):
        scheduled = schedule_kernels(fused)
    return plan_and_build(scheduled, target_name)


def _build_kernels(kernels: Any, target: Any) -> str:
    import tvm

    try:
        library = tvm.tirx.build(kernels, target=target)
    except Exception as error:
        raise CompileError(f"TVM could not generate C for the kernels: {summary(error)}") from None
    return library.inspect_source()
