"""Session layer of the microTVM link: nonces, the start/terminate handshake and message routing.

A pure state machine in the style of h11: feed it received bytes with ``receive_data`` and get
events back; ask it to start a session or send a message and collect the wire bytes with
``data_to_send``. It never does I/O and never looks at a clock; the driver in ``device_session.py``
owns both.

Each packet payload is one message: session id (u16 little-endian: low byte = initiator's nonce,
high byte = responder's nonce), message type (u8), body.
"""

from __future__ import annotations

import enum
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

from .framing import DEFAULT_MAX_PAYLOAD_BYTES, Framer, FramingError, Packet, Unframer

PROTOCOL_VERSION = 1
"""The only session protocol version; carried in StartSessionInit and StartSessionReply."""

HEADER = struct.Struct("<HB")
"""Session header: session id, message type."""


class MessageType(enum.IntEnum):
    """Session message types."""

    START_SESSION_INIT = 0x00
    START_SESSION_REPLY = 0x01
    TERMINATE_SESSION = 0x02
    LOG = 0x03
    NORMAL = 0x10


class SessionState(enum.Enum):
    """Where the session handshake stands."""

    NO_SESSION = "no session"
    START_SENT = "start sent"
    ESTABLISHED = "established"


def next_nonce(nonce: int) -> int:
    """Advance a nonce before each use: ((n << 5) | (n >> 5)) + 1, 8-bit, never 0."""
    advanced = ((((nonce << 5) | (nonce >> 5)) & 0xFF) + 1) & 0xFF
    return advanced or 1


def encode_message(session_id: int, message_type: int, body: bytes = b"") -> bytes:
    """The payload of one packet: session header followed by ``body``."""
    return HEADER.pack(session_id, message_type) + body


@dataclass(frozen=True)
class SessionEstablished:
    """The peer accepted the session; ``session_id`` is carried by every Normal message."""

    session_id: int


@dataclass(frozen=True)
class MessageReceived:
    """A Normal message of the established session: one RPC packet."""

    body: bytes


@dataclass(frozen=True)
class LogReceived:
    """A log line from the device (text as sent, without the stripped trailing newline)."""

    text: str


@dataclass(frozen=True)
class SessionTerminated:
    """The peer ended the established session; a device does this when it resets."""


@dataclass(frozen=True)
class PacketDropped:
    """A packet or message that was discarded, and why (CRC, framing error, wrong session)."""

    reason: str


Event = SessionEstablished | MessageReceived | LogReceived | SessionTerminated | PacketDropped


def _random_seed() -> int:
    return random.SystemRandom().randrange(1, 256)


class SessionProtocol:
    """The session state machine of one end of the link (the host initiates)."""

    def __init__(
        self,
        seed: Callable[[], int] = _random_seed,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        """``seed`` gives a fresh non-zero 8-bit nonce seed per handshake (tests fix it)."""
        self._seed = seed
        self._framer = Framer()
        self._unframer = Unframer(max_payload_bytes)
        self._outgoing = bytearray()
        self._nonce = 0
        self.state = SessionState.NO_SESSION
        self.session_id = 0

    @property
    def unframer(self) -> Unframer:
        """The receiving framer (its ``min_bytes_needed`` tells a reader how much to ask for)."""
        return self._unframer

    def data_to_send(self) -> bytes:
        """Return and forget the wire bytes produced since the last call."""
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def write_failed(self) -> None:
        """Tell the framer that the bytes from ``data_to_send`` did not all reach the wire."""
        self._framer.write_failed()

    def start(self) -> None:
        """Queue TerminateSession + StartSessionInit with a freshly seeded, advanced nonce."""
        self._nonce = next_nonce(self._seed() & 0xFF)
        self.session_id = 0
        self._queue(0, MessageType.TERMINATE_SESSION)
        self._send_init()

    def terminate(self) -> None:
        """Queue TerminateSession and forget the session."""
        self.session_id = 0
        self.state = SessionState.NO_SESSION
        self._queue(0, MessageType.TERMINATE_SESSION)

    def send_message(self, body: bytes) -> None:
        """Queue one Normal message; only valid while the session is established."""
        if self.state is not SessionState.ESTABLISHED:
            raise RuntimeError(f"cannot send a message: session is {self.state.value}")
        self._queue(self.session_id, MessageType.NORMAL, body)

    def receive_data(self, data: bytes) -> list[Event]:
        """Consume received wire bytes; return the events they complete, in order."""
        events: list[Event] = []
        for item in self._unframer.receive_data(data):
            if isinstance(item, FramingError):
                events.append(PacketDropped(item.reason))
            elif isinstance(item, Packet):
                self._on_packet(item, events)
        return events

    def _send_init(self) -> None:
        self.state = SessionState.START_SENT
        self._queue(self._nonce, MessageType.START_SESSION_INIT, bytes((PROTOCOL_VERSION,)))

    def _queue(self, session_id: int, message_type: int, body: bytes = b"") -> None:
        self._outgoing += self._framer.frame(encode_message(session_id, message_type, body))

    def _on_packet(self, packet: Packet, events: list[Event]) -> None:
        if not packet.crc_ok:
            events.append(PacketDropped("CRC mismatch"))
            return
        if len(packet.payload) < HEADER.size:
            return
        session_id, message_type = HEADER.unpack_from(packet.payload)
        body = packet.payload[HEADER.size :]
        if message_type == MessageType.START_SESSION_INIT:
            self._on_init(session_id, body, events)
        elif message_type == MessageType.START_SESSION_REPLY:
            self._on_reply(session_id, body, events)
        elif message_type == MessageType.TERMINATE_SESSION:
            if self.state is SessionState.ESTABLISHED:
                self.state = SessionState.NO_SESSION
                self.session_id = 0
                events.append(SessionTerminated())
        elif message_type == MessageType.LOG:
            if body and session_id in (0, self.session_id):
                events.append(LogReceived(body.decode("utf-8", errors="replace")))
        elif self.state is SessionState.ESTABLISHED and session_id == self.session_id:
            if message_type == MessageType.NORMAL:
                events.append(MessageReceived(body))
            else:
                events.append(PacketDropped(f"unknown message type 0x{message_type:02X}"))
        else:
            events.append(PacketDropped(f"message for session 0x{session_id:04X} not open here"))

    def _on_init(self, session_id: int, body: bytes, events: list[Event]) -> None:
        """A peer wants to start a session: answer it (the lower nonce wins a simultaneous start)."""
        initiator = session_id & 0xFF
        if initiator == 0 or not body:
            return
        if self.state is SessionState.START_SENT:
            if initiator == self._nonce:
                self._nonce = next_nonce(self._nonce)
                self._send_init()
                return
            if initiator > self._nonce or body[0] != PROTOCOL_VERSION:
                return
        self._nonce = next_nonce(self._nonce)
        self.session_id = initiator | (self._nonce << 8)
        self.state = SessionState.ESTABLISHED
        self._queue(self.session_id, MessageType.START_SESSION_REPLY, bytes((PROTOCOL_VERSION,)))
        events.append(SessionEstablished(self.session_id))

    def _on_reply(self, session_id: int, body: bytes, events: list[Event]) -> None:
        """Accept the reply to our own StartSessionInit; ignore stale or foreign ones."""
        if session_id >> 8 == 0 or not body:
            return
        if (
            self.state is SessionState.START_SENT
            and session_id & 0xFF == self._nonce
            and body[0] == PROTOCOL_VERSION
        ):
            self.session_id = session_id
            self.state = SessionState.ESTABLISHED
            events.append(SessionEstablished(session_id))
