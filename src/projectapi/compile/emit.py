"""The C of ``tvmgen_<M>_run(inputs*, outputs*)`` for a Plan placed by ``memory.layout``.

``<M>_lib0.c`` holds the static, 16-byte aligned workspace pool, the constants as ``const``
arrays (flash), one ``DLTensor`` per distinct tensor view (``const`` unless it points into the
caller's buffers), one packed-argument array per call, the kernels' scratch shims, and the run
function: bind the caller's buffers, call the kernels in order, copy any output not computed
in place.
"""

from __future__ import annotations

from projectapi.compile.driver import Plan, TensorRef
from projectapi.compile.errors import CompileError
from projectapi.compile.kernels import FFI_ANY, Kernels, shim_signature
from projectapi.compile.memory import Layout
from projectapi.mlf import csource

_DL_CODES = {"int": 0, "uint": 1, "float": 2, "bfloat": 4}
_CONST_TYPES = {1: "uint8_t", 2: "uint16_t", 4: "uint32_t", 8: "uint64_t"}
_DLTENSOR_PTR = 7  # tvm-ffi type index of a DLTensor* argument
_WORDS_PER_LINE = 12


def dl_dtype(dtype: str) -> tuple[int, int, int]:
    """DLPack (code, bits, lanes) of a dtype name."""
    if dtype == "bool":
        return 6, 8, 1
    kind = dtype.rstrip("0123456789")
    if kind not in _DL_CODES:
        raise CompileError(f"tensor dtype {dtype} is not supported")
    return _DL_CODES[kind], int(dtype[len(kind) :]), 1


class _Emitter:
    """Writes the driver C for one model."""

    def __init__(self, name: str, plan: Plan, places: Layout, kernels: Kernels) -> None:
        self.prefix = f"tvmgen_{name}"
        self.name = name
        self.plan = plan
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
        specs = self.plan.inputs if ref.base == "input" else self.plan.outputs
        member = csource.c_identifier(specs[ref.index].name)
        return f"((uint8_t*){ref.base}s->{member} + {ref.offset})"

    def tensor(self, ref: TensorRef) -> str:
        """The name of a static DLTensor describing ``ref`` (written on first use)."""
        if ref in self.tensors:
            return self.tensors[ref]
        name = f"tensor_{len(self.tensors)}"
        self.tensors[ref] = name
        code, bits, lanes = dl_dtype(ref.dtype)
        shape = "NULL"
        if ref.shape:
            dims = ", ".join(str(d) for d in ref.shape)
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
        for index, array in enumerate(self.plan.constants):
            size = max(array.dtype.itemsize, 1)
            words = array.reshape(-1).view(f"u{size}").tolist() if array.size else [0]
            suffix = "ull" if size == 8 else "u"
            rows = [
                "  " + ", ".join(f"0x{w:x}{suffix}" for w in words[i : i + _WORDS_PER_LINE])
                for i in range(0, len(words), _WORDS_PER_LINE)
            ]
            self.lines.append(
                f"/* {array.dtype} {list(array.shape)} */\n"
                f"static const {_CONST_TYPES[size]} {self.prefix}_const_{index}[{len(words)}] "
                "__attribute__((aligned(16))) = {\n" + ",\n".join(rows) + "\n};"
            )

    def shims(self) -> None:
        shims = self.kernels.shims
        if shims & {"workspace_alloc", "workspace_free"}:
            self.lines += [
                "",
                "/* Kernel scratch: a stack at the pool offset run() sets before each call that",
                " * needs it (kernels free in reverse order of allocation). */",
                "static uint8_t* scratch_base;",
                "static size_t scratch_top;",
                shim_signature(self.name, "workspace_alloc") + " {",
                "  size_t size = (size_t)((nbytes + 15u) & ~(uint64_t)15u);",
                "  (void)device_type; (void)device_id; (void)dtype_code_hint; (void)dtype_bits_hint;",
                "  scratch_top += size;",
                "  return scratch_base + scratch_top - size;",
                "}",
                shim_signature(self.name, "workspace_free") + " {",
                "  (void)device_type; (void)device_id;",
                "  scratch_top = (size_t)((uint8_t*)ptr - scratch_base);",
                "  return 0;",
                "}",
            ]
        if "error_parts" in shims:
            self.lines += [
                "",
                "/* Kernel errors: the failing call returns non-zero, which run() passes on. */",
                shim_signature(self.name, "error_parts") + " {",
                "  (void)kind; (void)parts; (void)n;",
                "}",
            ]

    def calls(self) -> list[str]:
        body = []
        for number, (kernel, args) in enumerate(self.plan.calls):
            names = [self.tensor(self.places.resolve(arg)) for arg in args]
            items = ", ".join(
                f"{{.type_index = {_DLTENSOR_PTR}, .v_ptr = (void*)&{n}}}" for n in names
            )
            self.lines.append(
                f"static const TVMFFIAny call_{number}_args[{len(names)}] = {{{items}}};"
            )
            if number in self.places.scratch:
                body.append(f"  scratch_base = {self.prefix}_pool + {self.places.scratch[number]};")
            body.append(
                f"  if ({self.prefix}_{kernel}(NULL, (void*)call_{number}_args, {len(names)}, "
                "&result) != 0) return -1;"
            )
        return body

    def copies(self) -> list[str]:
        """memcpy of every output the kernels did not write in place."""
        body = []
        for index, ref in enumerate(self.plan.results):
            where = self.places.resolve(ref)
            home = TensorRef("output", index, 0, ref.shape, ref.dtype)
            if where != home:
                body.append(f"  memcpy({self.pointer(home)}, {self.pointer(where)}, {ref.nbytes});")
        return body

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
        for kernel in sorted({name for name, _ in self.plan.calls}):
            self.lines.append(
                f"int32_t {p}_{kernel}(void* self_handle, void* args, int32_t num_args, "
                "void* result);"
            )
        if self.places.pool_bytes:
            self.lines.append(
                "\n/* The workspace: every tensor the model allocates and the kernels' scratch. */"
                f"\nstatic uint8_t {p}_pool[{self.places.pool_bytes}] __attribute__((aligned(16)));"
            )
        self.constants()
        self.shims()
        calls = self.calls()
        self.lines += [
            "",
            f"int32_t {p}_run(struct {p}_inputs* inputs, struct {p}_outputs* outputs) {{",
            "  TVMFFIAny result;",
            "  (void)inputs; (void)outputs; (void)result;",
            *self.io_bindings,
            *calls,
            *self.copies(),
            "  return 0;",
            "}",
        ]
        return "\n".join(self.lines) + "\n"


def driver_source(name: str, plan: Plan, places: Layout, kernels: Kernels) -> str:
    """``<M>_lib0.c``: pool, constants, tensor descriptors, shims and ``tvmgen_<M>_run``."""
    return _Emitter(name, plan, places, kernels).source()
