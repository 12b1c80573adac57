"""Framing: golden vectors (docs/micro.md), escaping, CRC, resynchronisation."""

from __future__ import annotations

import random

import pytest

from projectapi.errors import ProtocolError
from projectapi.micro.framing import Framer, FramingError, Packet, Unframer, crc16
from projectapi.micro.session_protocol import MessageType, encode_message


def h(text: str) -> bytes:
    return bytes.fromhex(text)


GOLDEN = [
    # (payload, first packet of a fresh framer?, wire bytes)
    (h("01 02 03"), True, h("FE FF FD 03 00 00 00 01 02 03 15 36")),  # F1
    (h("01 02 03"), False, h("FF FD 03 00 00 00 01 02 03 15 36")),  # F1, later packet
    (h("FF 1D 00"), False, h("FF FD 03 00 00 00 FF FF 1D 00 FD FF FF")),  # F2
    (h("00 00 03") + b"hi", False, h("FF FD 05 00 00 00 00 00 03 68 69 1A 8F")),  # 4.8 log
    (h("00 00 02"), True, h("FE FF FD 03 00 00 00 00 00 02 66 77")),  # 4.6 boot / 4.11
    (h("5A 00 00 01"), False, h("FF FD 04 00 00 00 5A 00 00 01 BB C4")),  # 4.11 Init
    (h("5A 87 01 01"), False, h("FF FD 04 00 00 00 5A 87 01 01 40 49")),  # 4.11 Reply
    (
        h("5A 87 10 25 00 00 00 00 00 00 00 09 00 00 00 01 00 00 00 0B 00 00 00")
        + h("11 00 00 00 00 00 00 00")
        + b"runtime.SystemLib",
        False,
        h("FF FD 30 00 00 00 5A 87 10 25 00 00 00 00 00 00 00 09 00 00 00 01 00 00 00")
        + h("0B 00 00 00 11 00 00 00 00 00 00 00")
        + b"runtime.SystemLib"
        + h("80 53"),
    ),
    (
        h("5A 87 10 14 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 03 00 00 00")
        + h("00 80 02 80 00 00 00 00"),
        False,
        h("FF FD 1F 00 00 00 5A 87 10 14 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00")
        + h("03 00 00 00 00 80 02 80 00 00 00 00 89 20"),
    ),
]


def test_crc_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1


@pytest.mark.parametrize(("payload", "first", "wire"), GOLDEN)
def test_framer_reproduces_golden_vectors(payload: bytes, first: bool, wire: bytes) -> None:
    framer = Framer()
    if not first:
        framer.frame(b"")
    assert framer.frame(payload) == wire


@pytest.mark.parametrize(("payload", "first", "wire"), GOLDEN)
def test_unframer_decodes_golden_vectors_byte_by_byte(
    payload: bytes, first: bool, wire: bytes
) -> None:
    unframer = Unframer()
    events = [e for i in range(len(wire)) for e in unframer.receive_data(wire[i : i + 1])]
    assert events == [Packet(payload, True)]


def test_f3_length_ff_is_escaped_and_covered_by_crc() -> None:
    payload = bytes(range(255))
    wire = Framer().frame(payload)
    assert wire[:8] == h("FE FF FD FF FF 00 00 00")
    body = wire[1:-2]
    assert wire[-2:] == crc16(body).to_bytes(2, "little")
    assert Unframer().receive_data(wire) == [Packet(payload, True)]


def test_session_message_helper_matches_golden_log() -> None:
    assert Framer().frame(encode_message(0, MessageType.LOG, b"hi"))[1:] == GOLDEN[3][2]


def test_prefix_comes_back_after_a_failed_write() -> None:
    framer = Framer()
    framer.frame(b"a")
    assert not framer.frame(b"a").startswith(b"\xfe")
    framer.write_failed()
    assert framer.frame(b"a").startswith(b"\xfe\xff\xfd")


def test_noise_before_a_packet_is_skipped() -> None:
    wire = b"boot text\r\n\xfe\xff\xff\xff\xfe" + Framer().frame(b"xyz")
    assert Unframer().receive_data(wire) == [Packet(b"xyz", True)]


def test_corrupted_crc_is_reported_invalid() -> None:
    wire = bytearray(Framer().frame(b"abc"))
    wire[-1] ^= 0x01
    assert Unframer().receive_data(bytes(wire)) == [Packet(b"abc", False)]


def test_start_inside_a_packet_abandons_it_and_receives_the_next() -> None:
    good = Framer().frame(b"second")[1:]
    events = Unframer().receive_data(h("FF FD 10 00 00 00 01 02") + good)
    assert isinstance(events[0], FramingError) and "short packet" in events[0].reason
    assert isinstance(events[0], ProtocolError)  # an exception, raisable where that is wanted
    assert events[1:] == [Packet(b"second", True)]


def test_invalid_escape_abandons_the_packet() -> None:
    unframer = Unframer()
    events = unframer.receive_data(h("FF FD 03 00 00 00 01 FF 42 02 03 00 00"))
    assert len(events) == 1 and "invalid escape" in events[0].reason
    assert unframer.receive_data(Framer().frame(b"ok")) == [Packet(b"ok", True)]


def test_ff_fe_inside_a_packet_is_dropped_but_counted_in_the_crc() -> None:
    body = h("FF FD 02 00 00 00 61 FF FE 62")
    wire = body + crc16(body).to_bytes(2, "little")
    assert Unframer().receive_data(wire) == [Packet(b"ab", True)]


def test_oversized_length_is_refused_and_receiver_resynchronises() -> None:
    unframer = Unframer(max_payload_bytes=16)
    events = unframer.receive_data(h("FF FD 00 01 00 00") + bytes(40) + Framer().frame(b"ok"))
    assert isinstance(events[0], FramingError) and "exceeds the limit of 16" in events[0].reason
    assert events[1:] == [Packet(b"ok", True)]


def test_payloads_larger_than_tvms_host_buffer_are_accepted() -> None:
    payload = bytes(random.Random(1).randrange(256) for _ in range(9000))
    assert Unframer().receive_data(Framer().frame(payload)) == [Packet(payload, True)]


def test_random_payloads_survive_random_chunking() -> None:
    rng = random.Random(7)
    framer = Framer()
    payloads = [
        bytes(rng.choice((0xFF, 0xFD, 0xFE, rng.randrange(256))) for _ in range(rng.randrange(300)))
        for _ in range(50)
    ]
    wire = b"".join(framer.frame(p) for p in payloads)
    unframer = Unframer()
    events = []
    position = 0
    while position < len(wire):
        step = rng.randrange(1, 40)
        events += unframer.receive_data(wire[position : position + step])
        position += step
    assert events == [Packet(p, True) for p in payloads]


def test_min_bytes_needed_never_reads_past_the_packet() -> None:
    rng = random.Random(3)
    framer = Framer()
    for _ in range(200):
        payload = bytes(rng.choice((0xFF, rng.randrange(256))) for _ in range(rng.randrange(64)))
        wire = framer.frame(payload)
        unframer = Unframer()
        position = 0
        events: list[object] = []
        while not events:
            step = unframer.min_bytes_needed()
            assert position + step <= len(wire)
            events = unframer.receive_data(wire[position : position + step])
            position += step
        assert events == [Packet(payload, True)] and position == len(wire)
