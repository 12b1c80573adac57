"""The pool planner: tensors alive together never share bytes, the others do; outputs are
computed in the caller's buffers; a kernel's scratch lives only during its call."""

from __future__ import annotations

import itertools

from projectapi.compile.driver import Alloc, Plan, TensorRef
from projectapi.compile.memory import layout
from projectapi.mlf.writer import TensorSpec


def _ref(index: int, floats: int) -> TensorRef:
    return TensorRef("alloc", index, 0, (floats,), "float32")


def _chain_plan() -> Plan:
    """in -> a (100 floats) -> b (50) -> c (100) -> output (10), each made by one call."""
    plan = Plan(inputs=[TensorSpec("x", "float32", (100,))])
    sizes = [100, 50, 100, 10]
    plan.allocs = [Alloc(4 * n, i, i + 1) for i, n in enumerate(sizes)]
    plan.allocs[-1].last = 4  # returned: alive to the end
    source = TensorRef("input", 0, 0, (100,), "float32")
    for i, n in enumerate(sizes):
        plan.calls.append(("k", [source, _ref(i, n)]))
        source = _ref(i, n)
    plan.results = [_ref(3, 10)]
    plan.outputs = [TensorSpec("output", "float32", (10,))]
    return plan


def test_overlapping_lifetimes_get_disjoint_bytes_and_the_rest_is_shared() -> None:
    plan = _chain_plan()
    places = layout(plan, {})
    spans = {}
    for index, alloc in enumerate(plan.allocs[:3]):
        home = places.homes[index]
        assert home.base == "pool" and home.offset % 16 == 0
        spans[index] = (home.offset, home.offset + alloc.nbytes, alloc.first, alloc.last)
    for (i, a), (j, b) in itertools.combinations(spans.items(), 2):
        if a[2] <= b[3] and b[2] <= a[3]:  # alive at the same call
            assert a[1] <= b[0] or b[1] <= a[0], (i, j)
    # a and c never live together, so the pool holds the largest pair alive at once.
    assert places.pool_bytes == 400 + 208
    assert places.homes[3] == TensorRef("output", 0, 0, (10,), "float32")


def test_scratch_lives_only_during_its_call() -> None:
    plan = _chain_plan()
    plan.calls[0] = ("conv", plan.calls[0][1])
    places = layout(plan, {"conv": 160})
    assert set(places.scratch) == {0}
    start = places.scratch[0]
    a = places.homes[0]
    assert start + 160 <= a.offset or a.offset + 400 <= start
    assert places.pool_bytes == 400 + 208  # the scratch fits beside a in call 0
