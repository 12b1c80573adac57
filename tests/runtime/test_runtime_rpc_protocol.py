"""Device-side protocol behaviour beyond the transcripts: corrupted, malformed, oversized and
out-of-session input must be dropped or answered with a meaningful Exception, never executed
and never hang the device (TVM defects 19 and 20)."""

from __future__ import annotations

import struct

import pytest
from support.runtime_build import (
    Device,
    cached_device,
    decode_reply,
    frame,
    rpc,
    seq,
)

MAX_PACKET = 2048


@pytest.fixture(scope="module")
def device_exe(tmp_path_factory):
    return cached_device(tmp_path_factory, None, TVM_CRT_MAX_PACKET_SIZE_BYTES=MAX_PACKET)


@pytest.fixture
def dev(device_exe):
    d = Device(device_exe)
    d.handshake()
    yield d
    d.close()


def get_global(name: str) -> bytes:
    return rpc(9, seq((11, name)))


def expect_handle(reply: bytes) -> int:
    code, (codes, values) = decode_reply(reply)
    assert code == 4 and codes == [3], (code, codes, values)
    return values[0]


def expect_exception(reply: bytes, *fragments: str) -> str:
    code, (codes, values) = decode_reply(reply)
    assert code == 5 and codes == [11], (code, codes, values)
    msg = values[0].decode()
    for f in fragments:
        assert f in msg, msg
    return msg


def test_boot_message_and_handshake_bytes(device_exe):
    d = Device(device_exe)
    try:
        # The first bytes on the wire are exactly FE + TerminateSession (framing spec 4.6).
        d.read_payload()
        assert bytes.fromhex("fefffd03000000000002" + "6677") == frame(b"\x00\x00\x02", prefix=True)
        d.write(frame(b"\x00\x00\x02", prefix=True) + frame(b"\x5a\x00\x00\x01"))
        reply = d.read_payload()
        assert reply[0] == 0x5A and reply[1] != 0 and reply[2:] == b"\x01\x01"
        # The reply is a plain frame (no FE prefix after the first packet) with a valid CRC.
        assert d.buf == b""
    finally:
        d.close()


def test_boot_bytes_raw(device_exe):
    import os
    import select

    d = Device(device_exe)
    try:
        raw = b""
        while len(raw) < 12:
            r, _, _ = select.select([d.proc.stdout], [], [], 10)
            assert r
            raw += os.read(d.proc.stdout.fileno(), 12 - len(raw))
        assert raw == bytes.fromhex("fe fffd 03000000 000002 6677")
    finally:
        d.close()


def test_global_handles_in_tvm_order(dev):
    names = [
        "runtime.SystemLib",
        "tvm.rpc.server.ModuleGetFunction",
        "runtime.RPCTimeEvaluator",
        "tvm.rpc.server.GetCRTMaxPacketSize",
        "tvm.contrib.random.random_fill",
        "tvm.aot_executor.create",
    ]
    for k, name in enumerate(names):
        assert expect_handle(dev.request(get_global(name))) == 0x80028000 + k
    assert expect_handle(dev.request(get_global("no.such.function"))) == 0


def test_max_packet_size_reported(dev):
    h = expect_handle(dev.request(get_global("tvm.rpc.server.GetCRTMaxPacketSize")))
    _, (codes, values) = decode_reply(dev.request(rpc(3, struct.pack("<Q", h) + seq())))
    assert codes == [0, 0] and values == [0, MAX_PACKET - 11]


def test_crc_failure_is_dropped_not_executed(dev):
    # A corrupted DevAllocData must not run; the following valid request is answered normally.
    alloc = rpc(
        13,
        seq((6, struct.pack("<ii", 1, 0)), (0, 64), (0, 8), (5, bytes([2, 32, 1, 0, 0, 0, 0, 0]))),
    )
    bad = bytearray(frame(struct.pack("<HB", dev.session_id, 0x10) + alloc))
    bad[-1] ^= 0x01 if bad[-1] != 0xFE else 0x02  # break the CRC
    dev.write(bytes(bad))
    good = get_global("runtime.SystemLib")
    assert expect_handle(dev.request(good)) == 0x80028000
    # Nothing else arrives: the corrupted request produced no reply.
    dev.write(frame(struct.pack("<HB", dev.session_id, 0x10) + get_global("runtime.SystemLib")))
    assert expect_handle(decode_and_strip(dev)) == 0x80028000


def decode_and_strip(dev) -> bytes:
    reply = dev.read_message()
    assert reply[:3] == struct.pack("<HB", dev.session_id, 0x10)
    return reply[3:]


def test_abandoned_packet_and_bad_escape_resync(dev):
    start = frame(struct.pack("<HB", dev.session_id, 0x10) + get_global("runtime.SystemLib"))
    dev.write(start[:9])  # half a packet, then a new start sequence
    assert expect_handle(dev.request(get_global("tvm.rpc.server.ModuleGetFunction"))) == 0x80028001
    dev.write(start[:8] + b"\xff\x41")  # invalid escape mid-packet
    assert expect_handle(dev.request(get_global("runtime.RPCTimeEvaluator"))) == 0x80028002


def test_wrong_session_and_log_messages_do_not_wedge(dev):
    other = (dev.session_id ^ 0x0101) & 0xFFFF
    dev.write(frame(struct.pack("<HB", other, 0x10) + get_global("runtime.SystemLib")))
    dev.write(frame(b"\x00\x00\x03hello"))  # a Log message sent to the device
    dev.write(frame(b"\x01"))  # shorter than a session header
    assert expect_handle(dev.request(get_global("tvm.aot_executor.create"))) == 0x80028005


def test_terminate_then_restart_keeps_serving(dev):
    dev.write(frame(b"\x00\x00\x02"))
    dev.write(frame(b"\x33\x00\x00\x01"))
    reply = dev.read_message()
    assert reply[0] == 0x33 and reply[2] == 0x01
    dev.session_id = struct.unpack("<H", reply[:2])[0]
    assert expect_handle(dev.request(get_global("runtime.SystemLib"))) == 0x80028000


@pytest.mark.parametrize(
    ("packet", "fragment"),
    [
        (rpc(0, b""), "RPC code 0"),
        (rpc(4, b""), "RPC code 4"),
        (rpc(5, b""), "RPC code 5"),
        (rpc(8, b""), "RPC code 8"),
        (rpc(-7, b""), "RPC code -7"),
        (rpc(11, seq()), "SetDevice not supported"),
        (rpc(12, seq()), "GetAttr not supported"),
        (rpc(21, seq()), "Syscall not recognized"),
        (rpc(9, seq((0, 5))), "GetGlobalFunc"),
        (rpc(9, seq((8, 0))), "type code 8"),
        (rpc(9, seq((13, 0))), "type code 13"),
        (rpc(10, seq((3, 0x80028000), (0, 7))), "cannot free type code 7"),
        (
            rpc(9, struct.pack("<i", 1) + struct.pack("<i", 11) + struct.pack("<Q", 100) + b"abc"),
            "truncated",
        ),
        (rpc(3, struct.pack("<Q", 0x80028000)), "truncated"),
        (rpc(3, struct.pack("<Q", 0x80028063) + seq()), "invalid function index"),
        (rpc(3, struct.pack("<Q", 0x80058000) + seq()), "unregistered module"),
        (rpc(3, struct.pack("<Q", 0x12345678) + seq()), "invalid function handle"),
        (rpc(2, struct.pack("<Q", 5) + b"0.8.0" + seq((0, 1))), "constructor arguments"),
        (rpc(9, struct.pack("<i", 1000000)), "invalid argument count"),
        (rpc(7, b"\x00" * 10), "truncated"),
        (struct.pack("<Q", 500) + struct.pack("<i", 9), "announces 500 bytes"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_protocol_errors_answer_exception(dev, packet, fragment):
    """Each malformed request gets an Exception naming its problem."""
    expect_exception(dev.request(packet), fragment)
    # The device still serves afterwards, and the next error text is fresh (not stale).
    assert expect_handle(dev.request(get_global("runtime.SystemLib"))) == 0x80028000


def test_error_messages_are_not_stale(dev):
    expect_exception(
        dev.request(rpc(3, struct.pack("<Q", 0x80028063) + seq())), "invalid function index"
    )
    # runtime.SystemLib then fails in a new way? No: it succeeds; a later unrelated failure must
    # carry its own text.
    msg = expect_exception(dev.request(rpc(10, seq((3, 0x8000), (0, 42)))), "type code 42")
    assert "function index" not in msg


def test_empty_rpc_packet_gets_no_reply(dev):
    dev.write(frame(struct.pack("<HB", dev.session_id, 0x10) + struct.pack("<Q", 0)))
    assert expect_handle(dev.request(get_global("runtime.SystemLib"))) == 0x80028000


def alloc(dev, nbytes: int) -> int:
    return expect_handle(
        dev.request(
            rpc(
                13,
                seq(
                    (6, struct.pack("<ii", 1, 0)),
                    (0, nbytes),
                    (0, 8),
                    (5, bytes([1, 8, 1, 0, 0, 0, 0, 0])),
                ),
            )
        )
    )


def test_copy_roundtrip_and_bounds(dev):
    ptr = alloc(dev, 4000)
    assert ptr != 0
    t = {"data": ptr, "shape": [4000], "dtype": (1, 8, 1)}
    from support.runtime_build import tensor_bytes

    data = bytes(range(256)) * 7  # contains 0xFF bytes: escaped on the wire
    pkt = rpc(7, tensor_bytes(**t, byte_offset=100) + struct.pack("<Q", len(data)) + data)
    code, (codes, _) = decode_reply(dev.request(pkt))
    assert code == 4 and codes == [4]
    code, body = decode_reply(
        dev.request(rpc(6, tensor_bytes(**t, byte_offset=100) + struct.pack("<Q", len(data))))
    )
    assert code == 8 and body == data
    # Past the end of the tensor: refused, nothing written.
    expect_exception(
        dev.request(rpc(7, tensor_bytes(**t, byte_offset=3999) + struct.pack("<Q", 2) + b"ab")),
        "outside",
    )
    expect_exception(
        dev.request(rpc(6, tensor_bytes(**t, byte_offset=0) + struct.pack("<Q", 4001))), "outside"
    )
    # A reply larger than the packet size is refused with a message instead of being sent.
    expect_exception(
        dev.request(rpc(6, tensor_bytes(**t) + struct.pack("<Q", 3000))), "packet size"
    )
    code, _ = decode_reply(dev.request(rpc(14, seq((6, struct.pack("<ii", 1, 0)), (3, ptr)))))
    assert code == 4


def test_oversized_request_answered(dev):
    big = rpc(9, seq((11, "x" * (MAX_PACKET + 100))))
    expect_exception(dev.request(big), "exceeds the device's packet size")
    assert expect_handle(dev.request(get_global("runtime.SystemLib"))) == 0x80028000


def test_byte_at_a_time_feeding(device_exe):
    d = Device(device_exe, "-c", "1")
    try:
        d.handshake()
        for _ in range(3):
            assert expect_handle(d.request(get_global("runtime.SystemLib"))) == 0x80028000
    finally:
        d.close()


def test_shutdown_stops_device(dev):
    dev.write(frame(struct.pack("<HB", dev.session_id, 0x10) + rpc(1, b"")))
    assert dev.proc.wait(5) == 0


def test_system_lib_missing_is_an_error(dev):
    h = expect_handle(dev.request(get_global("runtime.SystemLib")))
    expect_exception(dev.request(rpc(3, struct.pack("<Q", h) + seq())), "no system library")
