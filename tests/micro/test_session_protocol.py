"""Session state machine: nonces, handshake, acceptance rules, logs, termination."""

from __future__ import annotations

import pytest

from projectapi.micro.framing import Framer
from projectapi.micro.session_protocol import (
    LogReceived,
    MessageReceived,
    MessageType,
    PacketDropped,
    SessionEstablished,
    SessionProtocol,
    SessionState,
    SessionTerminated,
    encode_message,
    next_nonce,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def device_bytes(*messages: tuple[int, int, bytes]) -> bytes:
    framer = Framer()
    return b"".join(framer.frame(encode_message(*m)) for m in messages)


@pytest.mark.parametrize(
    ("before", "after"),
    [(0x3C, 0x82), (0xAB, 0x66), (0x01, 0x21), (0x5A, 0x43), (0xFF, 0xE8), (0x07, 0xE1)],
)
def test_next_nonce_examples(before: int, after: int) -> None:
    assert next_nonce(before) == after


def test_next_nonce_is_never_zero() -> None:
    assert all(1 <= next_nonce(n) <= 0xE8 for n in range(256))


def established(seed: int = 0x20) -> SessionProtocol:
    protocol = SessionProtocol(seed=lambda: seed)
    protocol.start()
    protocol.data_to_send()
    nonce = next_nonce(seed)
    events = protocol.receive_data(
        device_bytes((nonce | 0x4400, MessageType.START_SESSION_REPLY, b"\x01"))
    )
    assert events == [SessionEstablished(nonce | 0x4400)]
    return protocol


def test_start_sends_terminate_then_init_as_tvms_host() -> None:
    protocol = SessionProtocol(seed=lambda: 0x20)  # next(0x20) = 0x02, as in the transcripts
    protocol.start()
    assert protocol.data_to_send() == h(
        "FE FF FD 03 00 00 00 00 00 02 66 77  FF FD 04 00 00 00 02 00 00 01 43 34"
    )
    assert protocol.state is SessionState.START_SENT


def test_transcript_reply_establishes_session() -> None:
    protocol = SessionProtocol(seed=lambda: 0x20)
    protocol.start()
    protocol.data_to_send()
    boot = h("FE FF FD 03 00 00 00 00 00 02 66 77")
    reply = h("FF FD 04 00 00 00 02 02 01 01 12 69")
    assert protocol.receive_data(boot + reply) == [SessionEstablished(0x0202)]
    protocol.send_message(b"\x00")
    assert protocol.data_to_send()[6:9] == h("02 02 10")


@pytest.mark.parametrize(
    ("session_id", "body"),
    [
        (0x4403, b"\x01"),  # someone else's nonce
        (0x0002, b"\x01"),  # responder nonce 0
        (0x4402, b"\x02"),  # wrong version
        (0x4402, b""),  # no version byte
    ],
)
def test_invalid_replies_are_ignored(session_id: int, body: bytes) -> None:
    protocol = SessionProtocol(seed=lambda: 0x20)
    protocol.start()
    message = (session_id, MessageType.START_SESSION_REPLY, body)
    assert protocol.receive_data(device_bytes(message)) == []
    assert protocol.state is SessionState.START_SENT


def test_normal_messages_need_the_established_id() -> None:
    protocol = established()
    sid = protocol.session_id
    events = protocol.receive_data(
        device_bytes((sid, MessageType.NORMAL, b"reply"), (sid ^ 0x100, MessageType.NORMAL, b"x"))
    )
    assert events[0] == MessageReceived(b"reply")
    assert isinstance(events[1], PacketDropped)


def test_logs_are_delivered_with_id_zero_or_current() -> None:
    protocol = established()
    events = protocol.receive_data(
        device_bytes(
            (0, MessageType.LOG, b"hello"),
            (protocol.session_id, MessageType.LOG, b"again"),
            (0x1234, MessageType.LOG, b"foreign"),
            (0, MessageType.LOG, b""),
        )
    )
    assert events == [LogReceived("hello"), LogReceived("again")]


def test_logs_before_the_session_are_delivered() -> None:
    protocol = SessionProtocol(seed=lambda: 1)
    assert protocol.receive_data(device_bytes((0, MessageType.LOG, b"boot"))) == [
        LogReceived("boot")
    ]


def test_terminate_while_established_reports_a_device_reset() -> None:
    protocol = established()
    events = protocol.receive_data(device_bytes((0, MessageType.TERMINATE_SESSION, b"")))
    assert events == [SessionTerminated()]
    assert protocol.state is SessionState.NO_SESSION
    with pytest.raises(RuntimeError):
        protocol.send_message(b"x")


def test_terminate_during_handshake_is_ignored() -> None:
    protocol = SessionProtocol(seed=lambda: 1)
    protocol.start()
    assert protocol.receive_data(device_bytes((0, MessageType.TERMINATE_SESSION, b""))) == []


def test_bad_crc_is_reported_and_dropped() -> None:
    protocol = established()
    wire = bytearray(device_bytes((protocol.session_id, MessageType.NORMAL, b"data")))
    wire[-3] ^= 0x40
    assert protocol.receive_data(bytes(wire)) == [PacketDropped("CRC mismatch")]


def test_responder_answers_init_with_its_own_nonce() -> None:
    device = SessionProtocol(seed=lambda: 0x3C)
    device.start()  # device nonce becomes 0x82
    device.data_to_send()
    device.terminate()
    device.data_to_send()
    events = device.receive_data(device_bytes((0x5A, MessageType.START_SESSION_INIT, b"\x01")))
    nonce = next_nonce(0x82)
    assert events == [SessionEstablished(0x5A | nonce << 8)]
    expected = Framer()
    expected.frame(b"")
    reply = encode_message(0x5A | nonce << 8, MessageType.START_SESSION_REPLY, b"\x01")
    assert device.data_to_send() == expected.frame(reply)


def test_simultaneous_start_lower_nonce_wins() -> None:
    peer = SessionProtocol(seed=lambda: 0x20)  # nonce 0x02
    peer.start()
    peer.data_to_send()
    # A higher initiator nonce is ignored while our own Init is pending.
    assert peer.receive_data(device_bytes((0x80, MessageType.START_SESSION_INIT, b"\x01"))) == []
    # A lower one is answered.
    events = peer.receive_data(device_bytes((0x01, MessageType.START_SESSION_INIT, b"\x01")))
    assert len(events) == 1 and isinstance(events[0], SessionEstablished)
    assert events[0].session_id & 0xFF == 0x01
