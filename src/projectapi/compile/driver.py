"""The planned Relax main function read into a Plan: tensors, their lifetimes, kernel calls.

After ``StaticPlanBlockMemory`` the main function is a straight sequence of storage
allocations, tensor allocations, views (aliases, reshapes, tuples) and calls of kernels in
destination-passing style. One walk over it records every tensor the model allocates with the
span of calls it must live across (``memory`` places them), the constants, the calls with
their tensor arguments, and the returned tensors. Anything else is refused, naming the operator
and the binding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from projectapi.compile.errors import CompileError
from projectapi.mlf.writer import TensorSpec

_HANDLED_OPS = (
    "relax.memory.alloc_storage",
    "relax.memory.alloc_tensor",
    "relax.builtin.alloc_tensor",
    "relax.reshape",
)


@dataclass(frozen=True)
class TensorRef:
    """A tensor's place: ``base`` is alloc, const, input or output, ``index`` says which one,
    ``offset`` is in bytes from that base's start."""

    base: str
    index: int
    offset: int
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * itemsize(self.dtype)

    def view(self, shape: tuple[int, ...]) -> TensorRef:
        return TensorRef(self.base, self.index, self.offset, shape, self.dtype)


@dataclass
class Alloc:
    """A tensor the model allocates: its size and the calls (first..last) it lives across."""

    nbytes: int
    first: int
    last: int


@dataclass
class Plan:
    """Everything the C driver needs, read off the planned main function."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec] = field(default_factory=list)
    allocs: list[Alloc] = field(default_factory=list)
    constants: list[np.ndarray] = field(default_factory=list)
    calls: list[tuple[str, list[TensorRef]]] = field(default_factory=list)
    results: list[TensorRef] = field(default_factory=list)


def itemsize(dtype: str) -> int:
    """Bytes per element (bool: one byte)."""
    return 1 if dtype == "bool" else (int(dtype.lstrip("abcdefghijklmnopqrstuvwxyz")) + 7) // 8


def boundary_dtype(dtype: str) -> str:
    """The dtype an input or output has in the archive: bool travels as uint8 (same bytes)."""
    return "uint8" if dtype == "bool" else dtype


def _static_shape(ty: Any, what: str) -> tuple[int, ...]:
    """The static shape of a tensor type, or a CompileError naming ``what``."""
    values = getattr(getattr(ty, "shape", None), "values", None)
    if values is None:
        raise CompileError(f"{what} has no static shape (dynamic shapes are not supported)")
    dims = []
    for dim in values:
        if not hasattr(dim, "value"):
            raise CompileError(
                f"{what} has a dynamic dimension '{dim}' (dynamic shapes are not supported)"
            )
        dims.append(int(dim.value))
    return tuple(dims)


class _Walker:
    """One pass over the planned main function's bindings, filling a Plan."""

    def __init__(self, plan: Plan) -> None:
        from tvm import ir

        self.plan = plan
        self.values: dict[Any, Any] = {}
        self.constant_index: dict[tuple, int] = {}
        self.ops = {name: ir.Op.get(name) for name in _HANDLED_OPS}

    def constant(self, node: Any) -> TensorRef:
        array = np.ascontiguousarray(node.value.numpy())
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self.constant_index:
            self.constant_index[key] = len(self.plan.constants)
            self.plan.constants.append(array)
        dtype = "bool" if array.dtype == np.bool_ else str(array.dtype)
        return TensorRef("const", self.constant_index[key], 0, tuple(array.shape), dtype)

    def operand(self, node: Any, where: str) -> Any:
        from tvm import ir, relax

        if isinstance(node, relax.Var):
            if node not in self.values:
                raise CompileError(f"{where}: '{node.name}' is not a tensor the driver knows")
            return self.values[node]
        if isinstance(node, ir.GenericConst) and hasattr(node.value, "numpy"):
            return self.constant(node)
        if isinstance(node, relax.Tuple):
            return tuple(self.operand(item, where) for item in node.fields)
        raise CompileError(f"{where}: argument {type(node).__name__} is not supported")

    def binding(self, var: Any, value: Any) -> None:
        from tvm import relax

        where = f"binding '{var.name}'"
        if isinstance(value, relax.Call):
            self.values[var] = self.call(value, var, where)
        elif isinstance(value, relax.TupleGetItem):
            self.values[var] = self.operand(value.tuple_value, where)[value.index]
        else:
            self.values[var] = self.operand(value, where)

    def allocate(self, var: Any, where: str) -> TensorRef:
        shape, dtype = _static_shape(var.ty, where), str(var.ty.dtype)
        call = len(self.plan.calls)  # the call that will write it
        self.plan.allocs.append(Alloc(TensorRef("", 0, 0, shape, dtype).nbytes, call, call))
        return TensorRef("alloc", len(self.plan.allocs) - 1, 0, shape, dtype)

    def use(self, ref: TensorRef, until: int) -> None:
        if ref.base == "alloc":
            alloc = self.plan.allocs[ref.index]
            alloc.last = max(alloc.last, until)

    def call(self, call: Any, var: Any, where: str) -> Any:
        from tvm import ir

        op = call.op
        if isinstance(op, ir.GlobalVar):
            args = [self.operand(arg, f"{where} (call of {op.name_hint})") for arg in call.args]
            if not all(isinstance(arg, TensorRef) for arg in args):
                raise CompileError(f"{where}: kernel {op.name_hint} takes a non-tensor argument")
            for arg in args:
                self.use(arg, len(self.plan.calls))
            self.plan.calls.append((op.name_hint, args))
            return None
        if op.same_as(self.ops["relax.memory.alloc_storage"]):
            return None  # storage is re-planned per tensor (memory.py)
        if op.same_as(self.ops["relax.memory.alloc_tensor"]) or op.same_as(
            self.ops["relax.builtin.alloc_tensor"]
        ):
            return self.allocate(var, where)
        if op.same_as(self.ops["relax.reshape"]):
            return self.operand(call.args[0], where).view(_static_shape(var.ty, where))
        name = getattr(op, "name", None) or getattr(op, "global_symbol", None) or str(op)
        raise CompileError(
            f"operator {name} ({where}) has no C kernel: TVM could not lower it for target c"
        )


def plan(main: Any) -> Plan:
    """Read the planned main function into a Plan (inputs, outputs, tensors, calls)."""
    from tvm import relax

    walker = _Walker(Plan(inputs=[]))
    for index, param in enumerate(main.params):
        shape = _static_shape(param.ty, f"input '{param.name}'")
        dtype = str(param.ty.dtype)
        walker.plan.inputs.append(TensorSpec(param.name, boundary_dtype(dtype), shape or (1,)))
        walker.values[param] = TensorRef("input", index, 0, shape, dtype)
    for block in main.body.blocks:
        for binding in block.bindings:
            if not isinstance(binding, relax.VarBinding):
                raise CompileError(f"binding '{binding.var.name}': match_cast is not supported")
            walker.binding(binding.var, binding.value)
    results = list(_flatten(walker.operand(main.body.body, "the returned value")))
    for ref in results:
        walker.use(ref, len(walker.plan.calls))  # alive until the copies at the end
    names = ["output"] if len(results) == 1 else [f"output{i}" for i in range(len(results))]
    walker.plan.outputs = [
        TensorSpec(name, boundary_dtype(ref.dtype), ref.shape or (1,))
        for name, ref in zip(names, results, strict=True)
    ]
    walker.plan.results = results
    return walker.plan


def _flatten(value: Any) -> Any:
    if isinstance(value, tuple):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, TensorRef):
        yield value
    else:
        raise CompileError("the model returns something that is not a tensor")
