"""The planned Relax main function -> plain C ``tvmgen_<M>_run(inputs*, outputs*)``.

After ``StaticPlanBlockMemory`` the main function is a straight sequence of storage
allocations, tensor views into them, reshapes and calls of kernels in destination-passing
style. This module walks it once (``plan``) and writes the C (``driver_source``): one static,
16-byte aligned workspace pool holding every planned storage (and the kernels' scratch), the
constants as ``const`` arrays (flash), a ``DLTensor`` per distinct tensor view and one packed
call per kernel. Outputs are computed in place in the caller's buffers when the planner left
them unplanned, else copied there at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from projectapi.compile.errors import CompileError
from projectapi.compile.kernels import FFI_ANY, SCRATCH_ALIGN, Kernels, shim_signature
from projectapi.mlf import csource
from projectapi.mlf.writer import TensorSpec

_DL_CODES = {"int": 0, "uint": 1, "float": 2, "bfloat": 4}
_CONST_TYPES = {1: "uint8_t", 2: "uint16_t", 4: "uint32_t", 8: "uint64_t"}


@dataclass(frozen=True)
class TensorRef:
    """A tensor's place: ``base`` is pool, const, input, output or unplanned (index = which)."""

    base: str
    index: int
    offset: int
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * _itemsize(self.dtype)

    def view(self, shape: tuple[int, ...]) -> TensorRef:
        return TensorRef(self.base, self.index, self.offset, shape, self.dtype)


@dataclass
class Plan:
    """Everything the C driver needs, read off the planned main function."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    storages: list[int] = field(default_factory=list)  # byte sizes, in pool order
    unplanned: list[tuple[tuple[int, ...], str]] = field(default_factory=list)
    constants: list[np.ndarray] = field(default_factory=list)
    calls: list[tuple[str, list[TensorRef]]] = field(default_factory=list)
    results: list[TensorRef] = field(default_factory=list)


def _itemsize(dtype: str) -> int:
    return 1 if dtype == "bool" else (int("".join(c for c in dtype if c.isdigit())) + 7) // 8


def _static_shape(ty: Any, what: str) -> tuple[int, ...]:
    """The static shape of a tensor's struct info, or a CompileError naming ``what``."""
    shape = getattr(ty, "shape", None)
    values = getattr(shape, "values", None)
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
        self.storage_offsets: dict[Any, int] = {}
        self.constant_index: dict[tuple, int] = {}
        self.ops = {
            name: ir.Op.get(name)
            for name in (
                "relax.memory.alloc_storage",
                "relax.memory.alloc_tensor",
                "relax.builtin.alloc_tensor",
                "relax.reshape",
            )
        }

    def constant(self, node: Any) -> TensorRef:
        array = node.value.numpy()
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self.constant_index:
            self.constant_index[key] = len(self.plan.constants)
            self.plan.constants.append(np.ascontiguousarray(array))
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
            return tuple(self.operand(field, where) for field in node.fields)
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

    def call(self, call: Any, var: Any, where: str) -> Any:
        from tvm import ir

        op = call.op
        if isinstance(op, ir.GlobalVar):
            args = [self.operand(arg, f"{where} (call of {op.name_hint})") for arg in call.args]
            if not all(isinstance(arg, TensorRef) for arg in args):
                raise CompileError(f"{where}: kernel {op.name_hint} takes a non-tensor argument")
            self.plan.calls.append((op.name_hint, args))
            return None
        if op.same_as(self.ops["relax.memory.alloc_storage"]):
            size = int(call.args[0].values[0].value)
            self.storage_offsets[var] = sum(_aligned(s) for s in self.plan.storages)
            self.plan.storages.append(size)
            return None
        if op.same_as(self.ops["relax.memory.alloc_tensor"]):
            offset = self.storage_offsets[call.args[0]] + int(call.args[1].value)
            shape = _static_shape(var.ty, where)
            return TensorRef("pool", 0, offset, shape, str(var.ty.dtype))
        if op.same_as(self.ops["relax.builtin.alloc_tensor"]):
            shape = _static_shape(var.ty, where)
            self.plan.unplanned.append((shape, str(var.ty.dtype)))
            return TensorRef("unplanned", len(self.plan.unplanned) - 1, 0, shape, str(var.ty.dtype))
        if op.same_as(self.ops["relax.reshape"]):
            source = self.operand(call.args[0], where)
            return source.view(_static_shape(var.ty, where))
        name = getattr(op, "name", None) or getattr(op, "global_symbol", None) or str(op)
        raise CompileError(
            f"operator {name} ({where}) has no C kernel: TVM could not lower it for target c"
        )


def _aligned(size: int) -> int:
    return -(-size // SCRATCH_ALIGN) * SCRATCH_ALIGN


def plan(main: Any) -> Plan:
    """Read the planned main function into a Plan (inputs, outputs, storage, calls)."""
    from tvm import relax

    inputs = []
    for param in main.params:
        shape = _static_shape(param.ty, f"input '{param.name}'")
        inputs.append(TensorSpec(param.name, str(param.ty.dtype), shape))
    boundary = [TensorSpec(t.name, boundary_dtype(t.dtype), t.shape or (1,)) for t in inputs]
    result = Plan(inputs=boundary, outputs=[])
    walker = _Walker(result)
    for index, param in enumerate(main.params):
        walker.values[param] = TensorRef(
            "input", index, 0, inputs[index].shape, inputs[index].dtype
        )
    body = main.body
    for block in body.blocks:
        for binding in block.bindings:
            if not isinstance(binding, relax.VarBinding):
                raise CompileError(f"binding '{binding.var.name}': match_cast is not supported")
            walker.binding(binding.var, binding.value)
    returned = walker.operand(body.body, "the returned value")
    flat = list(_flatten(returned))
    names = ["output"] if len(flat) == 1 else [f"output{i}" for i in range(len(flat))]
    result.outputs = [
        TensorSpec(n, boundary_dtype(ref.dtype), ref.shape or (1,))
        for n, ref in zip(names, flat, strict=True)
    ]
    result.results = flat
    return result


def boundary_dtype(dtype: str) -> str:
    """The dtype an input or output has in the archive: bool travels as uint8 (same bytes)."""
    return "uint8" if dtype == "bool" else dtype


def _flatten(value: Any) -> Any:
    if isinstance(value, tuple):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, TensorRef):
        yield value
    else:
        raise CompileError("the model returns something that is not a tensor")


@dataclass(frozen=True)
class Layout:
    """Where everything lives in the pool, and which unplanned tensors are the outputs."""

    storage_offsets: list[int]
    unplanned_homes: dict[int, TensorRef]  # unplanned index -> output or pool place
    scratch_offset: int
    pool_bytes: int


def layout(model: Plan, scratch_bytes: int) -> Layout:
    """Place storages, leftover unplanned tensors and the kernels' scratch in one pool."""
    offsets, top = [], 0
    for size in model.storages:
        offsets.append(top)
        top += _aligned(size)
    homes: dict[int, TensorRef] = {}
    for index, ref in enumerate(model.results):
        if ref.base == "unplanned" and ref.index not in homes:
            shape, _ = model.unplanned[ref.index]
            if ref.offset == 0 and ref.nbytes == TensorRef("", 0, 0, shape, ref.dtype).nbytes:
                homes[ref.index] = TensorRef("output", index, 0, shape, ref.dtype)
    for index, (shape, dtype) in enumerate(model.unplanned):
        if index not in homes:
            homes[index] = TensorRef("pool", 0, top, shape, dtype)
            top += _aligned(homes[index].nbytes)
    return Layout(offsets, homes, top, top + scratch_bytes)


def resolve(ref: TensorRef, places: Layout) -> TensorRef:
    """An unplanned tensor's reference rewritten to where the layout put it."""
    if ref.base != "unplanned":
        return ref
    home = places.unplanned_homes[ref.index]
    return TensorRef(home.base, home.index, home.offset + ref.offset, ref.shape, ref.dtype)


def dl_dtype(dtype: str) -> tuple[int, int, int]:
    if dtype == "bool":
        return 6, 8, 1
    kind = dtype.rstrip("0123456789")
    if kind not in _DL_CODES:
        raise CompileError(f"tensor dtype {dtype} is not supported")
    return _DL_CODES[kind], int(dtype[len(kind) :]), 1


class _Emitter:
    """Writes the driver C for one model."""

    def __init__(self, name: str, model: Plan, places: Layout, kernels: Kernels) -> None:
        self.prefix = f"tvmgen_{name}"
        self.name = name
        self.model = model
        self.places = places
        self.kernels = kernels
        self.tensors: dict[TensorRef, str] = {}
        self.lines: list[str] = []
        self.io_bindings: list[str] = []

    def pointer(self, ref: TensorRef) -> str:
        """A C expression for the tensor's first byte."""
        if ref.base == "pool":
            return f"({self.prefix}_pool + {ref.offset})"
        if ref.base == "const":
            return f"((uint8_t*){self.prefix}_const_{ref.index} + {ref.offset})"
        specs = self.model.inputs if ref.base == "input" else self.model.outputs
        member = csource.c_identifier(specs[ref.index].name)
        return f"((uint8_t*){ref.base}s->{member} + {ref.offset})"

    def tensor(self, ref: TensorRef) -> str:
        """The name of a static DLTensor describing ``ref`` (created on first use)."""
        if ref in self.tensors:
            return self.tensors[ref]
        name = f"tensor_{len(self.tensors)}"
        self.tensors[ref] = name
        code, bits, lanes = dl_dtype(ref.dtype)
        dims = ", ".join(f"{d}" for d in ref.shape)
        shape = "NULL"
        if ref.shape:
            self.lines.append(f"static const int64_t {name}_shape[{len(ref.shape)}] = {{{dims}}};")
            shape = f"(int64_t*){name}_shape"
        at_run = ref.base in ("input", "output")
        data = "NULL" if at_run else f"(void*){self.pointer(ref)}"
        qualifier = "static DLTensor" if at_run else "static const DLTensor"
        self.lines.append(
            f"{qualifier} {name} = {{.data = {data}, .device = {{kDLCPU, 0}}, "
            f".ndim = {len(ref.shape)}, .dtype = {{{code}, {bits}, {lanes}}}, .shape = {shape}, "
            ".strides = NULL, .byte_offset = 0};"
        )
        if at_run:
            self.io_bindings.append(f"  {name}.data = {self.pointer(ref)};")
        return name

    def constants(self) -> None:
        for index, array in enumerate(self.model.constants):
            itemsize = max(array.dtype.itemsize, 1)
            words = array.reshape(-1).view(f"u{itemsize}").tolist() if array.size else [0]
            suffix = "ull" if itemsize == 8 else "u"
            rows = [
                "  " + ", ".join(f"0x{w:x}{suffix}" for w in words[i : i + 12])
                for i in range(0, len(words), 12)
            ]
            self.lines.append(
                f"/* {array.dtype} {list(array.shape)} */\n"
                f"static const {_CONST_TYPES[itemsize]} {self.prefix}_const_{index}[{len(words)}] "
                f"__attribute__((aligned(16))) = {{\n" + ",\n".join(rows) + "\n};"
            )

    def shims(self) -> None:
        if not self.kernels.shims:
            return
        p = self.prefix
        if "workspace_alloc" in self.kernels.shims or "workspace_free" in self.kernels.shims:
            self.lines += [
                "",
                "/* Kernel scratch: a stack in the pool's last "
                f"{self.kernels.scratch_bytes} bytes (kernels free in reverse order). */",
                "static size_t scratch_top;",
                shim_signature(self.name, "workspace_alloc") + " {",
                "  size_t size = (size_t)((nbytes + 15u) & ~(uint64_t)15u);",
                "  (void)device_type; (void)device_id; (void)dtype_code_hint; (void)dtype_bits_hint;",
                f"  if (scratch_top + size > {self.kernels.scratch_bytes}u) return NULL;",
                "  scratch_top += size;",
                f"  return {p}_pool + {self.places.scratch_offset} + scratch_top - size;",
                "}",
                shim_signature(self.name, "workspace_free") + " {",
                "  (void)device_type; (void)device_id;",
                f"  scratch_top = (size_t)((uint8_t*)ptr - ({p}_pool + {self.places.scratch_offset}));",
                "  return 0;",
                "}",
            ]
        if "error_parts" in self.kernels.shims:
            self.lines += [
                "",
                "/* Kernel errors: the failing call returns non-zero, which run() passes on. */",
                shim_signature(self.name, "error_parts") + " {",
                "  (void)kind; (void)parts; (void)n;",
                "}",
            ]

    def source(self) -> str:
        p = self.prefix
        self.lines = [
            f'/* Driver of model "{self.name}": its statically planned main function as C. */',
            "#include <stddef.h>",
            "#include <stdint.h>",
            "#include <string.h>",
            "#include <dlpack/dlpack.h>",
            f'#include "{p}.h"',
            "",
            FFI_ANY,
        ]
        for kernel in sorted({name for name, _ in self.model.calls}):
            self.lines.append(
                f"int32_t {p}_{kernel}(void* self_handle, void* args, int32_t num_args, void* result);"
            )
        if self.places.pool_bytes:
            self.lines.append(
                f"\n/* The workspace: every planned tensor and the kernels' scratch. */\n"
                f"static uint8_t {p}_pool[{self.places.pool_bytes}] __attribute__((aligned(16)));"
            )
        self.constants()
        self.shims()
        calls = []
        for number, (kernel, args) in enumerate(self.model.calls):
            names = [self.tensor(resolve(arg, self.places)) for arg in args]
            items = ", ".join(f"{{.type_index = 7, .v_ptr = (void*)&{n}}}" for n in names)
            self.lines.append(
                f"static const TVMFFIAny call_{number}_args[{len(names)}] = {{{items}}};"
            )
            calls.append(
                f"  if ({p}_{kernel}(NULL, (void*)call_{number}_args, {len(names)}, &result) != 0) "
                "return -1;"
            )
        copies = []
        for index, ref in enumerate(self.model.results):
            where = resolve(ref, self.places)
            if where != TensorRef("output", index, 0, ref.shape, ref.dtype):
                target = self.pointer(TensorRef("output", index, 0, ref.shape, ref.dtype))
                copies.append(f"  memcpy({target}, {self.pointer(where)}, {ref.nbytes});")
        self.lines += [
            "",
            f"int32_t {p}_run(struct {p}_inputs* inputs, struct {p}_outputs* outputs) {{",
            "  TVMFFIAny result;",
            "  (void)inputs; (void)outputs; (void)result;",
            *self.io_bindings,
            *calls,
            *copies,
            "  return 0;",
            "}",
        ]
        return "\n".join(self.lines) + "\n"


def driver_source(name: str, model: Plan, places: Layout, kernels: Kernels) -> str:
    """``<M>_lib0.c``: pool, constants, tensor descriptors, shims and ``tvmgen_<M>_run``."""
    return _Emitter(name, model, places, kernels).source()
