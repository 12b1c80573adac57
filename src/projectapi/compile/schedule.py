"""A small schedule for every kernel: no intermediate buffers where TVM can avoid them.

Unscheduled fused kernels materialise every stage (a padded copy of the input, the convolution
before its bias and ReLU...) in workspace the firmware must provide. Here injective stages are
inlined into their consumers, and a stage read point by point by an element-wise consumer
(a convolution or matrix product followed by bias and activation) is computed inside the
consumer's innermost loop, so its buffer shrinks to one element. Only TVM's own schedule
primitives are used; any step TVM refuses is simply not taken.
"""

from __future__ import annotations

from typing import Any


def _name(sch: Any, block: Any) -> str:
    return sch.get(block).name_hint


def _inline_injective(sch: Any, root: Any) -> None:
    """compute_inline every non-output block TVM accepts, until none is left."""
    from tvm.s_tir.schedule import ScheduleError

    changed = True
    while changed:
        changed = False
        outputs = {_name(sch, b) for b in sch.get_output_blocks(root)}
        for block in sch.get_child_blocks(root):
            if _name(sch, block) in outputs:
                continue
            try:
                sch.compute_inline(block)
            except ScheduleError:
                continue
            changed = True
            break


def _reads_point_by_point(sch: Any, consumer: Any, producer: Any) -> bool:
    """The consumer is element-wise and reads one producer element per iteration, indexed
    by distinct block variables (so computing the producer there repeats no work)."""
    stmt, written = sch.get(consumer), sch.get(producer).writes
    if len(written) != 1 or any(int(iv.iter_type) != 0 for iv in stmt.iter_vars):
        return False
    block_vars = [iv.var for iv in stmt.iter_vars]
    for region in stmt.reads:
        if not region.source.same_as(written[0].source):
            continue
        if any(getattr(r.extent, "value", None) != 1 for r in region.region):
            return False
        used = [
            next((i for i, v in enumerate(block_vars) if v.same_as(r.min)), -1)
            for r in region.region
        ]
        return -1 not in used and len(set(used)) == len(used)
    return False


def _compute_at_consumers(sch: Any, root: Any) -> dict[str, int]:
    """Move point-wise-read producers into their consumer; name -> loops they now sit under."""
    from tvm.s_tir.schedule import ScheduleError

    outputs = {_name(sch, b) for b in sch.get_output_blocks(root)}
    depth = {}
    for block in reversed(sch.get_child_blocks(root)):
        if _name(sch, block) in outputs:
            continue
        consumers = sch.get_consumers(block)
        if len(consumers) != 1 or not _reads_point_by_point(sch, consumers[0], block):
            continue
        loops = sch.get_loops(consumers[0])
        try:
            sch.compute_at(block, loops[-1])
        except ScheduleError:
            continue
        depth[_name(sch, block)] = len(loops)
    return depth


def _decompose_reductions(sch: Any, root: Any, depth: dict[str, int]) -> None:
    """Initialise each reduction before its own loops, not by a test inside them (faster, and
    C compilers then see the accumulator initialised)."""
    from tvm.s_tir.schedule import ScheduleError

    for block in _all_blocks(sch, root):
        if sch.get(block).init is None:
            continue
        for loop in sch.get_loops(block)[depth.get(_name(sch, block), 0) :]:
            try:
                sch.decompose_reduction(block, loop)
            except ScheduleError:
                continue
            break


def _all_blocks(sch: Any, root: Any) -> list[Any]:
    """Every block under the root, nested ones (moved by compute_at) included."""
    found = []
    for block in sch.get_child_blocks(root):
        found.append(block)
        for loop in sch.get_loops(block):
            found += [b for b in sch.get_child_blocks(loop) if _name(sch, b) != _name(sch, block)]
    unique = {}
    for block in found:
        unique.setdefault(_name(sch, block), block)
    return list(unique.values())


def schedule_kernels(mod: Any) -> Any:
    """``mod`` with every PrimFunc scheduled as described above."""
    import tvm
    from tvm import s_tir

    sch = s_tir.Schedule(mod)
    for gv, func in mod.functions.items():
        if not isinstance(func, tvm.tirx.PrimFunc):
            continue
        sch.work_on(gv.name_hint)
        root = sch.get_sblock("root")
        _inline_injective(sch, root)
        _decompose_reductions(sch, root, _compute_at_consumers(sch, root))
    return sch.mod
