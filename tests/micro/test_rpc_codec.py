"""MinRPC codec: golden bodies, every type code, every packet, bad input."""

from __future__ import annotations

import random
import struct

import pytest

from projectapi.micro.errors import ProtocolError
from projectapi.micro.rpc_codec import (
    CPU,
    FLOAT32,
    CallFunc,
    CopyAck,
    CopyFromRemote,
    CopyToRemote,
    DataType,
    Device,
    DLTensor,
    ExceptionReply,
    FuncHandle,
    Handle,
    InitServer,
    ModuleHandle,
    NDArrayRef,
    Return,
    RPCCode,
    Shutdown,
    Syscall,
    UInt,
    decode_call_result,
    decode_packet,
    decode_sequence,
    encode_call_result,
    encode_packet,
    encode_sequence,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


TENSOR4 = DLTensor(0x20001000, CPU, FLOAT32, (4,))
FLOATS = h("00 00 80 3F 00 00 00 40 00 00 40 40 00 00 80 40")

GOLDEN = [
    (
        CallFunc(0x80028001, (ModuleHandle(0x8000), "run", 1)),
        h("37 00 00 00 00 00 00 00 03 00 00 00 01 80 02 80 00 00 00 00 03 00 00 00")
        + h("09 00 00 00 0B 00 00 00 00 00 00 00 00 80 00 00 00 00 00 00")
        + h("03 00 00 00 00 00 00 00 72 75 6E 01 00 00 00 00 00 00 00"),
    ),
    (
        Return((10, Handle(0x80018007))),
        h("20 00 00 00 00 00 00 00 04 00 00 00 02 00 00 00 00 00 00 00 03 00 00 00")
        + h("0A 00 00 00 00 00 00 00 07 80 01 80 00 00 00 00"),
    ),
    (
        CopyToRemote(TENSOR4, FLOATS),
        h("44 00 00 00 00 00 00 00 07 00 00 00 00 10 00 20 00 00 00 00")
        + h("01 00 00 00 00 00 00 00 01 00 00 00 02 20 01 00 04 00 00 00 00 00 00 00")
        + h("00 00 00 00 00 00 00 00 10 00 00 00 00 00 00 00")
        + FLOATS,
    ),
    (Return((None,)), h("0C 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 04 00 00 00")),
    (
        CopyFromRemote(TENSOR4, 16),
        h("34 00 00 00 00 00 00 00 06 00 00 00 00 10 00 20 00 00 00 00")
        + h("01 00 00 00 00 00 00 00 01 00 00 00 02 20 01 00 04 00 00 00 00 00 00 00")
        + h("00 00 00 00 00 00 00 00 10 00 00 00 00 00 00 00"),
    ),
    (CopyAck(FLOATS), h("14 00 00 00 00 00 00 00 08 00 00 00") + FLOATS),
    (
        ExceptionReply("deliberate failure"),
        h("26 00 00 00 00 00 00 00 05 00 00 00 01 00 00 00 0B 00 00 00 12 00 00 00 00 00 00 00")
        + b"deliberate failure",
    ),
    (
        Syscall(RPCCode.DEV_ALLOC_DATA, (CPU, 1024, 64, FLOAT32)),
        h("38 00 00 00 00 00 00 00 0D 00 00 00 04 00 00 00 06 00 00 00 00 00 00 00")
        + h("00 00 00 00 05 00 00 00 01 00 00 00 00 00 00 00 00 04 00 00 00 00 00 00")
        + h("40 00 00 00 00 00 00 00 02 20 01 00 00 00 00 00"),
    ),
    (
        Return((Handle(0x20002000),)),
        h("14 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 03 00 00 00 00 20 00 20 00 00 00 00"),
    ),
    (
        Return((12, struct.pack("<d", 0.00125))),
        h("28 00 00 00 00 00 00 00 04 00 00 00 02 00 00 00 00 00 00 00 0C 00 00 00")
        + h("0C 00 00 00 00 00 00 00 08 00 00 00 00 00 00 00 7B 14 AE 47 E1 7A 54 3F"),
    ),
    (
        Syscall(RPCCode.GET_GLOBAL_FUNC, ("runtime.SystemLib",)),
        h("25 00 00 00 00 00 00 00 09 00 00 00 01 00 00 00 0B 00 00 00 11 00 00 00 00 00 00 00")
        + b"runtime.SystemLib",
    ),
    (
        CallFunc(0x80028005, (ModuleHandle(0x8000), CPU, "default")),
        h("3B 00 00 00 00 00 00 00 03 00 00 00 05 80 02 80 00 00 00 00 03 00 00 00")
        + h("09 00 00 00 06 00 00 00 0B 00 00 00 00 80 00 00 00 00 00 00")
        + h("01 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00")
        + b"default",
    ),
    (
        Syscall(RPCCode.FREE_HANDLE, (Handle(0x80028000), 10)),
        h("20 00 00 00 00 00 00 00 0A 00 00 00 02 00 00 00 03 00 00 00 00 00 00 00")
        + h("00 80 02 80 00 00 00 00 0A 00 00 00 00 00 00 00"),
    ),
]


@pytest.mark.parametrize(("packet", "wire"), GOLDEN)
def test_golden_packets_encode_exactly(packet: object, wire: bytes) -> None:
    assert encode_packet(packet) == wire  # type: ignore[arg-type]


@pytest.mark.parametrize(("packet", "wire"), GOLDEN)
def test_golden_packets_decode(packet: object, wire: bytes) -> None:
    assert decode_packet(wire) == packet


EVERY_TYPE = [
    -(1 << 63),
    42,
    UInt((1 << 64) - 1),
    -2.5,
    Handle(0xFFFF8001),
    None,
    DataType(0, 8, 1),
    Device(1, 0),
    DLTensor(0x55E6F9600000, CPU, FLOAT32, (1, 1, 28, 28), 1961),
    DLTensor(0x10, Device(1, 3), DataType(1, 16, 4), ()),
    ModuleHandle(0x8001),
    FuncHandle(0x80018007),
    "name \u00e9",
    b"\x00\xff" * 10,
]


def test_every_type_code_round_trips() -> None:
    assert decode_sequence(encode_sequence(EVERY_TYPE)) == tuple(EVERY_TYPE)


def test_type_codes_on_the_wire() -> None:
    encoded = encode_sequence(EVERY_TYPE)
    codes = struct.unpack_from(f"<{len(EVERY_TYPE)}i", encoded, 4)
    assert codes == (0, 0, 1, 2, 3, 4, 5, 6, 7, 7, 9, 10, 11, 12)


def test_bool_and_bytearray_travel_as_int_and_bytes() -> None:
    assert decode_sequence(encode_sequence([True, bytearray(b"ab")])) == (1, b"ab")


def test_random_sequences_round_trip() -> None:
    rng = random.Random(11)
    for _ in range(200):
        values = [rng.choice(EVERY_TYPE) for _ in range(rng.randrange(8))]
        assert decode_sequence(encode_sequence(values)) == tuple(values)


@pytest.mark.parametrize(
    "packet",
    [
        Shutdown(),
        InitServer(),
        InitServer("9.9", ()),
        CallFunc(1, tuple(EVERY_TYPE)),
        Return((13, TENSOR4, Handle(0x1234))),
        ExceptionReply(""),
        CopyFromRemote(TENSOR4, 0),
        CopyToRemote(TENSOR4, b""),
        CopyAck(b""),
        *(Syscall(code, (CPU, Handle(0))) for code in RPCCode if code >= 9),
    ],
)
def test_every_packet_round_trips(packet: object) -> None:
    assert decode_packet(encode_packet(packet)) == packet  # type: ignore[arg-type]


def test_shutdown_is_just_its_code() -> None:
    assert encode_packet(Shutdown()) == h("04 00 00 00 00 00 00 00 01 00 00 00")


def test_init_server_carries_the_version_text() -> None:
    assert encode_packet(InitServer()) == h(
        "15 00 00 00 00 00 00 00 02 00 00 00 05 00 00 00 00 00 00 00"
    ) + b"0.8.0" + h("00 00 00 00")


RESULTS = [
    ((4, None), None),
    ((0, 2037), 2037),
    ((2, 1.5), 1.5),
    ((11, "Input3"), "Input3"),
    ((12, b"\x01\x02"), b"\x01\x02"),
    ((9, Handle(0x8001)), ModuleHandle(0x8001)),
    ((10, Handle(0x80018007)), FuncHandle(0x80018007)),
    ((13, TENSOR4, Handle(0x99)), NDArrayRef(TENSOR4, 0x99)),
    ((7, TENSOR4), NDArrayRef(TENSOR4, None)),
    ((3, Handle(5)), Handle(5)),
]


@pytest.mark.parametrize(("values", "expected"), RESULTS)
def test_call_results_decode_per_spec(values: tuple, expected: object) -> None:
    assert decode_call_result(values) == expected


@pytest.mark.parametrize(("values", "expected"), [r for r in RESULTS if r[0][0] != 7])
def test_call_results_encode_inverse(values: tuple, expected: object) -> None:
    assert encode_call_result(expected).values == values  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (h("04 00 00 00 00 00 00 00 00 00 00 00"), "unknown RPC code 0"),
        (h("04 00 00 00 00 00 00 00 63 00 00 00"), "unknown syscall code 99"),
        (h("04 00 00 00 00 00 00 00 04 00 00 00"), "truncated"),
        (h("09 00 00 00 00 00 00 00 04 00 00 00 00"), "announces 9 bytes"),
        (h("0C 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 08 00 00 00"), "type code 8"),
        (h("0C 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 0D 00 00 00"), "type code 13"),
        (h("08 00 00 00 00 00 00 00 04 00 00 00 FF FF FF FF"), "argument count -1"),
        (h("0D 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 04 00 00 00 00"), "trailing"),
        (h("0C 00 00 00 00 00 00 00 05 00 00 00 01 00 00 00 00 00 00 00 00"), "announces"),
    ],
)
def test_malformed_packets_raise_protocol_error(wire: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_packet(wire)


def test_unencodable_value_names_its_type() -> None:
    with pytest.raises(ProtocolError, match="type object"):
        encode_sequence([object()])


def test_call_result_without_type_code_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="leading type code"):
        decode_call_result(())
