"""One static workspace pool for a Plan: every tensor and every kernel's scratch gets an offset.

Each allocated tensor lives from the call that writes it to the last call that reads it (or to
the end, for returned tensors); a kernel's scratch lives during its call only. Blocks whose
lifetimes overlap get disjoint byte ranges; the others share memory. Blocks are placed largest
first, each at the lowest 16-byte aligned offset free during its whole lifetime. Returned
tensors are computed directly in the caller's output buffers where they fill one exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from projectapi.compile.driver import Plan, TensorRef
from projectapi.compile.kernels import aligned


@dataclass(frozen=True)
class Layout:
    """Where each allocated tensor lives, where each call's scratch is, and the pool size."""

    homes: dict[int, TensorRef]  # alloc index -> place in the pool or an output buffer
    scratch: dict[int, int]  # call number -> pool offset of its kernel's scratch
    pool_bytes: int

    def resolve(self, ref: TensorRef) -> TensorRef:
        """``ref`` rewritten to its place (pool offsets or output buffers)."""
        if ref.base != "alloc":
            return ref
        home = self.homes[ref.index]
        return TensorRef(home.base, home.index, home.offset + ref.offset, ref.shape, ref.dtype)


@dataclass(frozen=True)
class _Block:
    key: tuple[str, int]
    size: int
    first: int
    last: int


def _place(blocks: list[_Block]) -> tuple[dict[tuple[str, int], int], int]:
    """First-fit offsets, largest block first; returns offsets and the pool size."""
    offsets: dict[tuple[str, int], int] = {}
    placed: list[tuple[_Block, int]] = []
    for block in sorted(blocks, key=lambda b: (-b.size, b.first, b.key)):
        busy = sorted(
            (offset, offset + other.size)
            for other, offset in placed
            if other.first <= block.last and block.first <= other.last
        )
        candidate = 0
        for start, end in busy:
            if candidate + block.size <= start:
                break
            candidate = max(candidate, aligned(end))
        offsets[block.key] = candidate
        placed.append((block, candidate))
    top = max((offset + block.size for block, offset in placed), default=0)
    return offsets, aligned(top)


def layout(plan: Plan, scratch: dict[str, int]) -> Layout:
    """Place the plan's tensors and scratch (``scratch``: kernel name -> bytes) in one pool."""
    homes: dict[int, TensorRef] = {}
    for index, ref in enumerate(plan.results):
        alloc = plan.allocs[ref.index] if ref.base == "alloc" else None
        if alloc and ref.index not in homes and ref.offset == 0 and ref.nbytes == alloc.nbytes:
            homes[ref.index] = TensorRef("output", index, 0, ref.shape, ref.dtype)
    blocks = [
        _Block(("alloc", index), aligned(alloc.nbytes), alloc.first, alloc.last)
        for index, alloc in enumerate(plan.allocs)
        if index not in homes and alloc.nbytes
    ]
    blocks += [
        _Block(("scratch", number), scratch[kernel], number, number)
        for number, (kernel, _) in enumerate(plan.calls)
        if scratch.get(kernel)
    ]
    offsets, pool_bytes = _place(blocks)
    for index in range(len(plan.allocs)):
        if index not in homes:
            homes[index] = TensorRef("pool", 0, offsets.get(("alloc", index), 0), (), "uint8")
    calls = {number: offset for (kind, number), offset in offsets.items() if kind == "scratch"}
    return Layout(homes, calls, pool_bytes)
