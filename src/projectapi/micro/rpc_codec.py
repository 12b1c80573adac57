"""MinRPC packets as values: encode requests and replies to bytes and decode them back.

Every packet starts with ``packet_nbytes`` (u64) and an RPC code (i32); arguments and return
values travel as packed sequences (i32 count, i32 type codes, then the values). All integers
are little-endian. Pure functions and frozen dataclasses only: no I/O, no session state.
"""

from __future__ import annotations

import enum
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from .errors import ProtocolError

PROTOCOL_VERSION = "0.8.0"
"""Version text carried by InitServer (the device ignores it)."""

MAX_DECODED_ARGS = 1 << 16
"""Sanity bound on a decoded argument count, so a corrupt count cannot allocate gigabytes."""


class RPCCode(enum.IntEnum):
    """RPC codes; codes from GET_GLOBAL_FUNC on are syscalls."""

    NONE = 0
    SHUTDOWN = 1
    INIT_SERVER = 2
    CALL_FUNC = 3
    RETURN = 4
    EXCEPTION = 5
    COPY_FROM_REMOTE = 6
    COPY_TO_REMOTE = 7
    COPY_ACK = 8
    GET_GLOBAL_FUNC = 9
    FREE_HANDLE = 10
    DEV_SET_DEVICE = 11
    DEV_GET_ATTR = 12
    DEV_ALLOC_DATA = 13
    DEV_FREE_DATA = 14
    DEV_STREAM_SYNC = 15
    COPY_AMONG_REMOTE = 16
    DEV_ALLOC_DATA_WITH_SCOPE = 17
    DEV_CREATE_STREAM = 18
    DEV_FREE_STREAM = 19
    DEV_SET_STREAM = 20


class TypeCode(enum.IntEnum):
    """Type codes of packed-sequence values."""

    INT = 0
    UINT = 1
    FLOAT = 2
    OPAQUE_HANDLE = 3
    NULLPTR = 4
    DATA_TYPE = 5
    DEVICE = 6
    DL_TENSOR_HANDLE = 7
    OBJECT_HANDLE = 8
    MODULE_HANDLE = 9
    PACKED_FUNC_HANDLE = 10
    STR = 11
    BYTES = 12
    NDARRAY_HANDLE = 13
    OBJECT_RVALUE_REF_ARG = 14


@dataclass(frozen=True)
class UInt:
    """An unsigned integer argument (type code 1)."""

    value: int


@dataclass(frozen=True)
class Handle:
    """An opaque device pointer or handle (type code 3)."""

    value: int


@dataclass(frozen=True)
class ModuleHandle:
    """A device module (type code 9)."""

    value: int


@dataclass(frozen=True)
class FuncHandle:
    """A device packed function (type code 10)."""

    value: int


@dataclass(frozen=True)
class DataType:
    """A DLPack data type: type code (0 int, 1 uint, 2 float, 4 bfloat), bits, lanes."""

    code: int
    bits: int
    lanes: int = 1

    @property
    def itemsize(self) -> int:
        """Bytes per element: ceil(bits * lanes / 8)."""
        return (self.bits * self.lanes + 7) // 8


FLOAT32 = DataType(2, 32, 1)


@dataclass(frozen=True)
class Device:
    """A DLPack device; a microTVM device is CPU 0."""

    device_type: int = 1
    device_id: int = 0


CPU = Device(1, 0)


@dataclass(frozen=True)
class DLTensor:
    """Tensor metadata as it travels (never the data): pointer, device, dtype, shape, offset."""

    data: int
    device: Device
    dtype: DataType
    shape: tuple[int, ...]
    byte_offset: int = 0

    @property
    def nbytes(self) -> int:
        """Size of the tensor's data in bytes (row-major, compact)."""
        return math.prod(self.shape) * self.dtype.itemsize


Value: TypeAlias = (
    int
    | float
    | str
    | bytes
    | UInt
    | Handle
    | ModuleHandle
    | FuncHandle
    | DataType
    | Device
    | DLTensor
    | None
)
"""A value of a packed sequence; bool travels as Int, bytearray as Bytes."""

_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_I32 = struct.Struct("<i")
_F64 = struct.Struct("<d")
_DTYPE = struct.Struct("<BBHxxxx")
_DEVICE = struct.Struct("<ii")
_TENSOR_HEAD = struct.Struct("<QiiiBBH")


def type_code_of(value: Any) -> TypeCode:
    """The type code a Python value is sent as; raise ProtocolError for values with none."""
    if value is None:
        return TypeCode.NULLPTR
    if isinstance(value, bool | int):
        return TypeCode.INT
    if isinstance(value, float):
        return TypeCode.FLOAT
    if isinstance(value, str):
        return TypeCode.STR
    if isinstance(value, bytes | bytearray | memoryview):
        return TypeCode.BYTES
    codes = {
        UInt: TypeCode.UINT,
        Handle: TypeCode.OPAQUE_HANDLE,
        ModuleHandle: TypeCode.MODULE_HANDLE,
        FuncHandle: TypeCode.PACKED_FUNC_HANDLE,
        DataType: TypeCode.DATA_TYPE,
        Device: TypeCode.DEVICE,
        DLTensor: TypeCode.DL_TENSOR_HANDLE,
    }
    try:
        return codes[type(value)]
    except KeyError:
        raise ProtocolError(
            f"cannot send a value of type {type(value).__name__} to the device; "
            "pass int, float, str, bytes, None, a remote array, module or function"
        ) from None


def encode_tensor(tensor: DLTensor) -> bytes:
    """DLTensor wire form: data u64, device, ndim i32, dtype, shape i64 x ndim, byte_offset u64."""
    head = _TENSOR_HEAD.pack(
        tensor.data,
        tensor.device.device_type,
        tensor.device.device_id,
        len(tensor.shape),
        tensor.dtype.code,
        tensor.dtype.bits,
        tensor.dtype.lanes,
    )
    shape = struct.pack(f"<{len(tensor.shape)}q", *tensor.shape)
    return head + shape + _U64.pack(tensor.byte_offset)


def _encode_value(code: TypeCode, value: Any) -> bytes:
    if code in (TypeCode.INT, TypeCode.UINT):
        raw = value.value if isinstance(value, UInt) else int(value)
        return _U64.pack(raw & 0xFFFF_FFFF_FFFF_FFFF)
    if code == TypeCode.FLOAT:
        return _F64.pack(value)
    if code in (TypeCode.OPAQUE_HANDLE, TypeCode.MODULE_HANDLE, TypeCode.PACKED_FUNC_HANDLE):
        return _U64.pack(value.value)
    if code == TypeCode.NULLPTR:
        return b""
    if code == TypeCode.DATA_TYPE:
        return _DTYPE.pack(value.code, value.bits, value.lanes)
    if code == TypeCode.DEVICE:
        return _DEVICE.pack(value.device_type, value.device_id)
    if code == TypeCode.DL_TENSOR_HANDLE:
        return encode_tensor(value)
    raw = value.encode("utf-8") if code == TypeCode.STR else bytes(value)
    return _U64.pack(len(raw)) + raw


def encode_sequence(values: Sequence[Value]) -> bytes:
    """Packed sequence: i32 count, i32 type code per value, then the values."""
    codes = [type_code_of(v) for v in values]
    head = struct.pack(f"<i{len(codes)}i", len(codes), *codes)
    return head + b"".join(_encode_value(c, v) for c, v in zip(codes, values, strict=True))


class _Reader:
    """Reads little-endian fields from a packet body; raises ProtocolError when it runs short."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def take(self, n: int) -> bytes:
        if n < 0 or self.offset + n > len(self.data):
            raise ProtocolError(
                f"RPC packet truncated: needed {n} bytes at offset {self.offset}, "
                f"packet has {len(self.data)}"
            )
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk

    def unpack(self, fmt: struct.Struct) -> tuple[Any, ...]:
        return fmt.unpack(self.take(fmt.size))

    def u64(self) -> int:
        return self.unpack(_U64)[0]

    def i32(self) -> int:
        return self.unpack(_I32)[0]

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.offset)


def _decode_tensor(reader: _Reader) -> DLTensor:
    data, dev_type, dev_id, ndim, code, bits, lanes = reader.unpack(_TENSOR_HEAD)
    if not 0 <= ndim <= 64:
        raise ProtocolError(f"DLTensor with invalid rank {ndim}")
    shape = struct.unpack(f"<{ndim}q", reader.take(8 * ndim))
    return DLTensor(
        data, Device(dev_type, dev_id), DataType(code, bits, lanes), shape, reader.u64()
    )


def _decode_value(code: int, reader: _Reader) -> Value:
    if code == TypeCode.INT:
        return reader.unpack(_I64)[0]
    if code == TypeCode.UINT:
        return UInt(reader.u64())
    if code == TypeCode.FLOAT:
        return reader.unpack(_F64)[0]
    if code == TypeCode.OPAQUE_HANDLE:
        return Handle(reader.u64())
    if code == TypeCode.NULLPTR:
        return None
    if code == TypeCode.DATA_TYPE:
        return DataType(*reader.unpack(_DTYPE))
    if code == TypeCode.DEVICE:
        return Device(*reader.unpack(_DEVICE))
    if code == TypeCode.DL_TENSOR_HANDLE:
        return _decode_tensor(reader)
    if code == TypeCode.MODULE_HANDLE:
        return ModuleHandle(reader.u64())
    if code == TypeCode.PACKED_FUNC_HANDLE:
        return FuncHandle(reader.u64())
    if code in (TypeCode.STR, TypeCode.BYTES):
        raw = reader.take(reader.u64())
        return raw.decode("utf-8", errors="replace") if code == TypeCode.STR else raw
    raise ProtocolError(f"type code {code} cannot appear in a packed sequence")


def _decode_sequence(reader: _Reader) -> tuple[Value, ...]:
    count = reader.i32()
    if not 0 <= count <= MAX_DECODED_ARGS:
        raise ProtocolError(f"packed sequence with invalid argument count {count}")
    codes = struct.unpack(f"<{count}i", reader.take(4 * count))
    return tuple(_decode_value(code, reader) for code in codes)


def decode_sequence(data: bytes) -> tuple[Value, ...]:
    """Decode a packed sequence that fills ``data`` exactly."""
    reader = _Reader(data)
    values = _decode_sequence(reader)
    _expect_end(reader)
    return values


def _expect_end(reader: _Reader) -> None:
    if reader.offset != len(reader.data):
        raise ProtocolError(
            f"RPC packet has {len(reader.data) - reader.offset} unexpected trailing bytes"
        )


# Packets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shutdown:
    """Ask the device to stop serving; it sends no reply."""


@dataclass(frozen=True)
class InitServer:
    """Initialise the RPC server (TVM's micro host never sends it)."""

    version: str = PROTOCOL_VERSION
    args: tuple[Value, ...] = ()


@dataclass(frozen=True)
class CallFunc:
    """Call a device function by handle."""

    handle: int
    args: tuple[Value, ...] = ()


@dataclass(frozen=True)
class Return:
    """A successful reply: the packed sequence of return values."""

    values: tuple[Value, ...]


@dataclass(frozen=True)
class ExceptionReply:
    """A failed call, with the device's last-error text."""

    message: str


@dataclass(frozen=True)
class CopyFromRemote:
    """Read ``nbytes`` from ``tensor.data + tensor.byte_offset`` on the device."""

    tensor: DLTensor
    nbytes: int


@dataclass(frozen=True)
class CopyToRemote:
    """Write ``data`` to ``tensor.data + tensor.byte_offset`` on the device."""

    tensor: DLTensor
    data: bytes


@dataclass(frozen=True)
class CopyAck:
    """Reply to CopyFromRemote: the bytes read."""

    data: bytes


@dataclass(frozen=True)
class Syscall:
    """A syscall (GetGlobalFunc, FreeHandle, DevAllocData, ...): a code and its arguments."""

    code: RPCCode
    args: tuple[Value, ...] = ()


RPCPacket: TypeAlias = (
    Shutdown
    | InitServer
    | CallFunc
    | Return
    | ExceptionReply
    | CopyFromRemote
    | CopyToRemote
    | CopyAck
    | Syscall
)


def _encode_body(packet: RPCPacket) -> bytes:
    if isinstance(packet, Shutdown):
        return _I32.pack(RPCCode.SHUTDOWN)
    if isinstance(packet, InitServer):
        version = packet.version.encode("ascii")
        return (
            _I32.pack(RPCCode.INIT_SERVER)
            + _U64.pack(len(version))
            + version
            + encode_sequence(packet.args)
        )
    if isinstance(packet, CallFunc):
        return (
            _I32.pack(RPCCode.CALL_FUNC) + _U64.pack(packet.handle) + encode_sequence(packet.args)
        )
    if isinstance(packet, Return):
        return _I32.pack(RPCCode.RETURN) + encode_sequence(packet.values)
    if isinstance(packet, ExceptionReply):
        return _I32.pack(RPCCode.EXCEPTION) + encode_sequence((packet.message,))
    if isinstance(packet, CopyFromRemote):
        return (
            _I32.pack(RPCCode.COPY_FROM_REMOTE)
            + encode_tensor(packet.tensor)
            + _U64.pack(packet.nbytes)
        )
    if isinstance(packet, CopyToRemote):
        return (
            _I32.pack(RPCCode.COPY_TO_REMOTE)
            + encode_tensor(packet.tensor)
            + _U64.pack(len(packet.data))
            + packet.data
        )
    if isinstance(packet, CopyAck):
        return _I32.pack(RPCCode.COPY_ACK) + packet.data
    return _I32.pack(packet.code) + encode_sequence(packet.args)


def encode_packet(packet: RPCPacket) -> bytes:
    """The body of one Normal session message: ``packet_nbytes`` (u64) + code + body."""
    body = _encode_body(packet)
    return _U64.pack(len(body)) + body


def decode_packet(message: bytes) -> RPCPacket:
    """Decode the body of one Normal session message; raise ProtocolError if malformed."""
    reader = _Reader(message)
    nbytes = reader.u64()
    if nbytes != len(message) - _U64.size:
        raise ProtocolError(
            f"RPC packet announces {nbytes} bytes but the message carries {len(message) - 8}"
        )
    code = reader.i32()
    packet: RPCPacket
    if code == RPCCode.SHUTDOWN:
        packet = Shutdown()
    elif code == RPCCode.INIT_SERVER:
        version = reader.take(reader.u64()).decode("ascii", errors="replace")
        packet = InitServer(version, _decode_sequence(reader))
    elif code == RPCCode.CALL_FUNC:
        handle = reader.u64()
        packet = CallFunc(handle, _decode_sequence(reader))
    elif code == RPCCode.RETURN:
        packet = Return(_decode_sequence(reader))
    elif code == RPCCode.EXCEPTION:
        packet = _decode_exception(reader)
    elif code == RPCCode.COPY_FROM_REMOTE:
        packet = CopyFromRemote(_decode_tensor(reader), reader.u64())
    elif code == RPCCode.COPY_TO_REMOTE:
        tensor = _decode_tensor(reader)
        packet = CopyToRemote(tensor, reader.take(reader.u64()))
    elif code == RPCCode.COPY_ACK:
        packet = CopyAck(reader.rest())
    elif code >= RPCCode.GET_GLOBAL_FUNC:
        packet = Syscall(_syscall_code(code), _decode_sequence(reader))
    else:
        raise ProtocolError(f"unknown RPC code {code}")
    _expect_end(reader)
    return packet


def _syscall_code(code: int) -> RPCCode:
    try:
        return RPCCode(code)
    except ValueError:
        raise ProtocolError(f"unknown syscall code {code}") from None


def _decode_exception(reader: _Reader) -> ExceptionReply:
    values = _decode_sequence(reader)
    if len(values) != 1 or not isinstance(values[0], str):
        raise ProtocolError(f"Exception reply must carry one string, got {values!r}")
    return ExceptionReply(values[0])


# Return values ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NDArrayRef:
    """A tensor the device returned: its metadata and the handle to release it with (or None)."""

    tensor: DLTensor
    handle: int | None


def decode_call_result(values: Sequence[Value]) -> Value | NDArrayRef:
    """Interpret the values of a CallFunc's Return: a leading Int type code, then the value.

    4 -> None; 9 -> ModuleHandle; 10 -> FuncHandle; 7 or 13 -> NDArrayRef (DLTensor, then the
    handle when the device sends one); anything else -> the second value as it is.
    """
    if not values or not isinstance(values[0], int):
        raise ProtocolError(f"CallFunc reply lacks its leading type code: {values!r}")
    code = values[0]
    if code == TypeCode.NULLPTR:
        return None
    if len(values) < 2:
        raise ProtocolError(f"CallFunc reply with type code {code} but no value")
    value = values[1]
    if code in (TypeCode.MODULE_HANDLE, TypeCode.PACKED_FUNC_HANDLE):
        raw = value.value if isinstance(value, Handle) else value
        if not isinstance(raw, int):
            raise ProtocolError(f"CallFunc reply with type code {code} carries {value!r}")
        return ModuleHandle(raw) if code == TypeCode.MODULE_HANDLE else FuncHandle(raw)
    if code in (TypeCode.DL_TENSOR_HANDLE, TypeCode.NDARRAY_HANDLE):
        if not isinstance(value, DLTensor):
            raise ProtocolError(f"CallFunc reply with type code {code} carries {value!r}")
        handle = values[2].value if len(values) > 2 and isinstance(values[2], Handle) else None
        return NDArrayRef(value, handle)
    return value


def encode_call_result(value: Value | NDArrayRef) -> Return:
    """The Return a device sends for a CallFunc result (the inverse of decode_call_result)."""
    if value is None:
        return Return((int(TypeCode.NULLPTR), None))
    if isinstance(value, ModuleHandle | FuncHandle):
        return Return((int(type_code_of(value)), Handle(value.value)))
    if isinstance(value, NDArrayRef):
        handle = value.tensor.data if value.handle is None else value.handle
        return Return((int(TypeCode.NDARRAY_HANDLE), value.tensor, Handle(handle)))
    return Return((int(type_code_of(value)), value))
