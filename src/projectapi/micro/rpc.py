"""RPC client over a session: remote functions, modules and arrays, chunked copies.

The client turns calls into MinRPC packets and hands each to an ``exchange`` callable that
delivers one request message and returns the reply message (``transport.Session`` provides it;
tests provide fakes). The request sequences match TVM v0.14's host (docs/micro.md).

Device objects are wrapped by RemoteFunction, RemoteModule and RemoteArray. A wrapper frees its
device handle when ``release()`` is called or its ``with`` block ends; nothing is freed from
``__del__``, so the traffic never depends on garbage collection.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import ProtocolError, RemoteError, SessionError
from .rpc_codec import (
    CPU,
    CallFunc,
    CopyAck,
    CopyFromRemote,
    CopyToRemote,
    DataType,
    DLTensor,
    ExceptionReply,
    FuncHandle,
    Handle,
    ModuleHandle,
    NDArrayRef,
    Return,
    RPCCode,
    RPCPacket,
    Syscall,
    TypeCode,
    Value,
    decode_call_result,
    decode_packet,
    encode_packet,
)

Exchange = Callable[[bytes], bytes]
"""Send one request message and return the reply message."""

NO_PACKET_LIMIT = (1 << 64) - 1
"""Packet size assumed when the device has no tvm.rpc.server.GetCRTMaxPacketSize (TVM's rule)."""

COPY_OVERHEAD_BYTES = 44
"""CopyToRemote bytes besides the data and the 8-byte shape entries: code 4, DLTensor 32,
nbytes 8 (docs/micro.md); the block per packet is the device's packet size minus this."""

ALLOC_ALIGNMENT = 64
"""Alignment TVM's host asks for in DevAllocData (max(64, element size) for every real dtype)."""

_DL_CODES = {"i": 0, "u": 1, "f": 2}
_NUMPY_KINDS = {code: kind for kind, code in _DL_CODES.items()}


def dtype_from_numpy(dtype: np.dtype | str) -> DataType:
    """The DLPack data type of a numpy dtype (int, uint and float only)."""
    dt = np.dtype(dtype)
    if dt.kind not in _DL_CODES:
        raise SessionError(f"dtype {dt} cannot be sent to the device; use an int, uint or float")
    return DataType(_DL_CODES[dt.kind], dt.itemsize * 8, 1)


def dtype_to_numpy(dtype: DataType) -> np.dtype:
    """The numpy dtype of a DLPack data type, little-endian."""
    kind = _NUMPY_KINDS.get(dtype.code)
    if kind is None or dtype.lanes != 1 or dtype.bits % 8 or dtype.bits == 0:
        raise SessionError(f"device tensor dtype {dtype} has no numpy equivalent")
    return np.dtype(f"<{kind}{dtype.bits // 8}")


class RPCClient:
    """Turns remote calls into request/reply exchanges; caches the device's packet size."""

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._max_packet_size: int | None = None
        self.closed_reason: str | None = None

    @property
    def closed(self) -> bool:
        """True once no more requests can be sent (``closed_reason`` says why)."""
        return self.closed_reason is not None

    # Raw requests --------------------------------------------------------------------------

    def request(self, packet: RPCPacket, what: str) -> RPCPacket:
        """Send ``packet`` and return the decoded reply; an Exception reply raises RemoteError."""
        if self.closed_reason is not None:
            raise SessionError(f"cannot {what}: {self.closed_reason}")
        reply = decode_packet(self._exchange(encode_packet(packet)))
        if isinstance(reply, ExceptionReply):
            raise RemoteError(what, reply.message)
        return reply

    def call(self, handle: int, args: Sequence[Value], what: str) -> Value | NDArrayRef:
        """CallFunc: call a device function and decode its result (docs/micro.md)."""
        reply = self.request(CallFunc(handle, tuple(args)), what)
        if not isinstance(reply, Return):
            raise ProtocolError(f"{what}: expected a Return reply, got {type(reply).__name__}")
        return decode_call_result(reply.values)

    def syscall(self, code: RPCCode, args: Sequence[Value], what: str) -> Value:
        """A syscall; returns its single reply value (None for ReturnVoid)."""
        reply = self.request(Syscall(code, tuple(args)), what)
        if not isinstance(reply, Return) or len(reply.values) != 1:
            raise ProtocolError(f"{what}: expected a one-value Return, got {reply!r}")
        return reply.values[0]

    def _syscall_handle(self, code: RPCCode, args: Sequence[Value], what: str) -> int:
        value = self.syscall(code, args, what)
        if not isinstance(value, Handle):
            raise ProtocolError(f"{what}: expected a handle, got {value!r}")
        return value.value

    def free_handle(self, handle: int, type_code: TypeCode) -> None:
        """Release a device function (10), module (9) or NDArray (13) handle."""
        self.syscall(
            RPCCode.FREE_HANDLE, (Handle(handle), int(type_code)), f"free handle 0x{handle:x}"
        )

    # Functions and modules -----------------------------------------------------------------

    def find_global_func(self, name: str) -> RemoteFunction | None:
        """A global device function by name, or None if the device has none of that name."""
        handle = self._syscall_handle(RPCCode.GET_GLOBAL_FUNC, (name,), f"look up '{name}'")
        return RemoteFunction(self, handle, name) if handle else None

    def get_global_func(self, name: str) -> RemoteFunction:
        """A global device function by name; raises SessionError if the device lacks it."""
        func = self.find_global_func(name)
        if func is None:
            raise SessionError(f"the device has no global function '{name}'")
        return func

    def system_lib(self) -> RemoteModule:
        """The device's system library module (the functions linked into the firmware)."""
        with self.get_global_func("runtime.SystemLib") as make:
            module = make()
        if not isinstance(module, RemoteModule):
            raise ProtocolError(f"runtime.SystemLib returned {module!r}, not a module")
        return module

    def wrap_result(self, value: Value | NDArrayRef, name: str) -> Any:
        """Turn a decoded call result into a wrapper (module, function, array) or a plain value."""
        if isinstance(value, ModuleHandle):
            return RemoteModule(self, value.value)
        if isinstance(value, FuncHandle):
            return RemoteFunction(self, value.value, name)
        if isinstance(value, NDArrayRef):
            return RemoteArray(self, value.tensor, value.handle, owned_data=False)
        return value

    # Memory --------------------------------------------------------------------------------

    def max_packet_size(self) -> int:
        """The device's largest request (tvm.rpc.server.GetCRTMaxPacketSize), asked once."""
        if self._max_packet_size is None:
            func = self.find_global_func("tvm.rpc.server.GetCRTMaxPacketSize")
            size = NO_PACKET_LIMIT if func is None else func()
            if not isinstance(size, int) or size <= 0:
                raise ProtocolError(f"the device reported packet size {size!r}")
            self._max_packet_size = size
        return self._max_packet_size

    def block_size(self, ndim: int) -> int:
        """Data bytes per copy packet for a tensor of rank ``ndim``."""
        block = self.max_packet_size() - (COPY_OVERHEAD_BYTES + 8 * ndim)
        if block <= 0:
            raise SessionError(
                f"the device's packet size {self.max_packet_size()} is too small to copy a "
                f"rank-{ndim} tensor"
            )
        return block

    def copy_to(self, tensor: DLTensor, data: bytes, *, sync: bool) -> None:
        """Write ``data`` into ``tensor`` in packets the device can hold; then sync if asked.

        Block k goes to byte_offset + k*B. (TVM's host replaces the offset by k*B, losing a
        non-zero one; both agree for the zero offsets TVM itself uses.)
        """
        block = self.block_size(len(tensor.shape))
        for k, start in enumerate(range(0, len(data), block)):
            part = dataclasses.replace(tensor, byte_offset=tensor.byte_offset + k * block)
            reply = self.request(
                CopyToRemote(part, data[start : start + block]), "copy data to the device"
            )
            if not isinstance(reply, Return):
                raise ProtocolError(f"copy to the device: unexpected reply {reply!r}")
        if sync:
            self.stream_sync()

    def copy_from(self, tensor: DLTensor, nbytes: int, *, sync: bool) -> bytes:
        """Read ``nbytes`` from ``tensor`` in packets the device can send; then sync if asked."""
        block = self.block_size(len(tensor.shape))
        parts = []
        for k, start in enumerate(range(0, nbytes, block)):
            part = dataclasses.replace(tensor, byte_offset=tensor.byte_offset + k * block)
            size = min(block, nbytes - start)
            reply = self.request(CopyFromRemote(part, size), "copy data from the device")
            if not isinstance(reply, CopyAck) or len(reply.data) != size:
                raise ProtocolError(f"copy from the device: expected {size} bytes, got {reply!r}")
            parts.append(reply.data)
        if sync:
            self.stream_sync()
        return b"".join(parts)

    def stream_sync(self) -> None:
        """DevStreamSync on CPU 0 (a no-op on microTVM devices, sent as TVM's host does)."""
        self.syscall(RPCCode.DEV_STREAM_SYNC, (CPU, Handle(0)), "synchronise the device")

    def alloc_data(self, nbytes: int, dtype: DataType) -> int:
        """DevAllocData: a device buffer of ``nbytes``; returns its address."""
        return self._syscall_handle(
            RPCCode.DEV_ALLOC_DATA,
            (CPU, nbytes, ALLOC_ALIGNMENT, dtype),
            f"allocate {nbytes} bytes on the device",
        )

    def free_data(self, pointer: int) -> None:
        """DevFreeData: return a buffer from ``alloc_data``."""
        self.syscall(RPCCode.DEV_FREE_DATA, (CPU, Handle(pointer)), "free device memory")

    def empty(self, shape: Sequence[int], dtype: np.dtype | str = "float32") -> RemoteArray:
        """A new uninitialised device array (released with DevFreeData)."""
        dl = dtype_from_numpy(dtype)
        shape = tuple(int(d) for d in shape)
        pointer = self.alloc_data(math.prod(shape) * dl.itemsize, dl)
        return RemoteArray(self, DLTensor(pointer, CPU, dl, shape), None, owned_data=True)

    def array(self, value: np.ndarray) -> RemoteArray:
        """A device copy of a numpy array."""
        value = np.asarray(value)
        remote = self.empty(value.shape, value.dtype)
        remote.copyfrom(value)
        return remote


class _Remote:
    """A device object with a handle freed once, by ``release()`` or the end of a ``with``."""

    def __init__(self, client: RPCClient) -> None:
        self._client = client
        self.released = False

    def _check_live(self) -> None:
        if self.released:
            raise SessionError(f"{self!r} was released and cannot be used any more")

    def release(self) -> None:
        """Free the device object (nothing is sent once the session is closed)."""
        if self.released:
            return
        self.released = True
        if not self._client.closed:
            self._free()

    def _free(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class RemoteFunction(_Remote):
    """A packed function on the device; call it like a Python function."""

    def __init__(self, client: RPCClient, handle: int, name: str) -> None:
        super().__init__(client)
        self.handle = handle
        self.name = name

    def __repr__(self) -> str:
        return f"RemoteFunction({self.name!r}, handle=0x{self.handle:x})"

    def __call__(self, *args: Any) -> Any:
        """Call with ints, floats, str, bytes, None or remote arrays/modules/functions."""
        self._check_live()
        result = self._client.call(self.handle, [_to_wire(a) for a in args], f"'{self.name}'")
        return self._client.wrap_result(result, self.name)

    def _free(self) -> None:
        self._client.free_handle(self.handle, TypeCode.PACKED_FUNC_HANDLE)


class RemoteModule(_Remote):
    """A module on the device (the system library or an executor)."""

    def __init__(self, client: RPCClient, handle: int) -> None:
        super().__init__(client)
        self.handle = handle
        self._get_function: RemoteFunction | None = None
        self._time_evaluator: RemoteFunction | None = None

    def __repr__(self) -> str:
        return f"RemoteModule(handle=0x{self.handle:x})"

    def find_function(self, name: str) -> RemoteFunction | None:
        """The module's function ``name``, or None if it has none of that name."""
        self._check_live()
        if self._get_function is None:
            self._get_function = self._client.get_global_func("tvm.rpc.server.ModuleGetFunction")
        func = self._get_function(self, name, 1)
        if func is not None and not isinstance(func, RemoteFunction):
            raise ProtocolError(f"looking up '{name}' returned {func!r}, not a function")
        if func is not None:
            func.name = name
        return func

    def get_function(self, name: str) -> RemoteFunction:
        """The module's function ``name``; raises SessionError if missing."""
        func = self.find_function(name)
        if func is None:
            raise SessionError(f"the device module has no function '{name}'")
        return func

    def time_evaluator(
        self,
        func_name: str,
        *,
        number: int = 10,
        repeat: int = 1,
        min_repeat_ms: int = 0,
        limit_zero_time_iterations: int = 100,
        cooldown_interval_ms: int = 0,
        repeats_to_cooldown: int = 1,
    ) -> TimeEvaluator:
        """A device-timed runner of ``func_name`` (runtime.RPCTimeEvaluator, docs/micro.md)."""
        self._check_live()
        for label, value, least in (
            ("number", number, 1),
            ("repeat", repeat, 1),
            ("min_repeat_ms", min_repeat_ms, 0),
            ("repeats_to_cooldown", repeats_to_cooldown, 1),  # 0 divides by zero on TVM's CRT
        ):
            if value < least:
                raise SessionError(f"{label} must be at least {least}, got {value}")
        if self._time_evaluator is None:
            self._time_evaluator = self._client.get_global_func("runtime.RPCTimeEvaluator")
        timer = self._time_evaluator(
            self,
            func_name,
            CPU.device_type,
            CPU.device_id,
            number,
            repeat,
            min_repeat_ms,
            limit_zero_time_iterations,
            cooldown_interval_ms,
            repeats_to_cooldown,
            0,
            "",
        )
        if not isinstance(timer, RemoteFunction):
            raise ProtocolError(f"runtime.RPCTimeEvaluator returned {timer!r}, not a function")
        timer.name = f"time evaluator of '{func_name}'"
        return TimeEvaluator(timer, repeat)

    def _free(self) -> None:
        self._client.free_handle(self.handle, TypeCode.MODULE_HANDLE)
        if self._get_function is not None:
            self._get_function.release()


class TimeEvaluator(_Remote):
    """Runs a device function under the device timer; each call returns seconds per repeat."""

    def __init__(self, timer: RemoteFunction, repeat: int) -> None:
        super().__init__(timer._client)
        self._timer = timer
        self._repeat = repeat

    def __call__(self, *args: Any) -> tuple[float, ...]:
        """Mean on-device seconds per call, one value per repeat."""
        self._check_live()
        raw = self._timer(*args)
        if not isinstance(raw, bytes) or len(raw) != 8 * self._repeat:
            raise ProtocolError(f"time evaluator returned {raw!r}, expected {self._repeat} doubles")
        return struct.unpack(f"<{self._repeat}d", raw)

    def _free(self) -> None:
        self._timer.release()


class RemoteArray(_Remote):
    """A tensor in device memory: numpy in with ``copyfrom``, numpy out with ``numpy()``."""

    def __init__(
        self, client: RPCClient, tensor: DLTensor, handle: int | None, *, owned_data: bool
    ) -> None:
        """``handle`` is the NDArray handle to free; ``owned_data`` means DevFreeData instead."""
        super().__init__(client)
        self.tensor = tensor
        self.handle = handle
        self._owned_data = owned_data

    def __repr__(self) -> str:
        return f"RemoteArray(shape={self.shape}, dtype={self.dtype}, data=0x{self.tensor.data:x})"

    @property
    def shape(self) -> tuple[int, ...]:
        """The tensor's shape."""
        return self.tensor.shape

    @property
    def dtype(self) -> np.dtype:
        """The tensor's numpy dtype."""
        return dtype_to_numpy(self.tensor.dtype)

    def copyfrom(self, value: np.ndarray, *, sync: bool = True) -> None:
        """Upload a numpy array of the same shape and dtype."""
        self._check_live()
        self._client.copy_to(self.tensor, check_array(value, self.shape, self.dtype), sync=sync)

    def numpy(self, *, sync: bool = True) -> np.ndarray:
        """Download the tensor into a new numpy array."""
        self._check_live()
        raw = self._client.copy_from(self.tensor, self.tensor.nbytes, sync=sync)
        return np.frombuffer(raw, dtype=self.dtype).reshape(self.shape).copy()

    def _free(self) -> None:
        if self._owned_data:
            self._client.free_data(self.tensor.data)
        elif self.handle is not None:
            self._client.free_handle(self.handle, TypeCode.NDARRAY_HANDLE)


def check_array(value: Any, shape: tuple[int, ...], dtype: np.dtype, what: str = "array") -> bytes:
    """The little-endian bytes of ``value``; raises SessionError naming a shape/dtype mismatch.

    The dtype must match exactly; the shape must match or hold the same number of elements
    (so a flat array fills a tensor of any shape, as model files often store inputs flat).
    """
    array = np.asarray(value)
    if array.dtype != dtype:
        raise SessionError(f"{what} has dtype {array.dtype}, the device tensor needs {dtype}")
    if array.shape != shape and array.size != math.prod(shape):
        raise SessionError(f"{what} has shape {array.shape}, the device tensor needs {shape}")
    return np.ascontiguousarray(array, dtype=dtype.newbyteorder("<")).tobytes()


def _to_wire(value: Any) -> Value:
    """The wire value of a call argument (wrappers become their handles or tensors)."""
    if isinstance(value, RemoteArray):
        value._check_live()
        return value.tensor
    if isinstance(value, RemoteModule):
        value._check_live()
        return ModuleHandle(value.handle)
    if isinstance(value, RemoteFunction):
        value._check_live()
        return FuncHandle(value.handle)
    if isinstance(value, np.ndarray):
        raise SessionError("pass device arrays to device functions: upload numpy arrays first")
    return value
