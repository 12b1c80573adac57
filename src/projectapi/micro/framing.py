"""Framing layer of the microTVM link: packets <-> escaped wire bytes, as pure protocol objects.

Wire format of one packet (all little-endian)::

    [FE]  FF FD  LEN(u32, escaped)  PAYLOAD(LEN bytes, escaped)  CRC(u16, escaped)

Every 0xFF byte after the start sequence is sent as FF FF. The CRC is CRC-16/CCITT-FALSE
(``binascii.crc_hqx(data, 0xFFFF)``) over the bytes as transmitted, from FF FD through the last
payload byte. A sender puts a lone FE before its first packet. Neither class does any I/O.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass

from .errors import FramingError

ESCAPE = 0xFF
"""Escape introducer."""
NOP = 0xFE
"""No-operation code after ESCAPE; also sent alone before a sender's first packet."""
START = 0xFD
"""Packet start code after ESCAPE."""

START_SEQUENCE = bytes((ESCAPE, START))
CRC_INITIAL = 0xFFFF
"""Initial value of CRC-16/CCITT-FALSE."""

DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20
"""Largest payload the Unframer accepts unless told otherwise. Device packet sizes are a few KiB
(TVM_CRT_MAX_PACKET_SIZE_BYTES: 512 to 8192 in TVM's templates), so 1 MiB accepts any real
device, including those above TVM's fixed 2048-byte host buffer, while a corrupted length field
cannot make the host buffer gigabytes."""

_LEN_BYTES = 4
_CRC_BYTES = 2
_MIN_PACKET_WIRE_BYTES = len(START_SEQUENCE) + _LEN_BYTES + _CRC_BYTES


def crc16(data: bytes, crc: int = CRC_INITIAL) -> int:
    """CRC-16/CCITT-FALSE of ``data``, continuing from ``crc``."""
    return binascii.crc_hqx(data, crc)


def escape(data: bytes) -> bytes:
    """Double every 0xFF byte (the only byte the framing escapes)."""
    return data.replace(b"\xff", b"\xff\xff")


class Framer:
    """Turns payloads into wire bytes; remembers whether the lone FE prefix is still due."""

    def __init__(self) -> None:
        self._prefix_due = True

    def frame(self, payload: bytes) -> bytes:
        """Return the complete wire bytes of one packet carrying ``payload``."""
        body = START_SEQUENCE + escape(struct.pack("<I", len(payload))) + escape(payload)
        wire = body + escape(struct.pack("<H", crc16(body)))
        if self._prefix_due:
            self._prefix_due = False
            wire = bytes((NOP,)) + wire
        return wire

    def write_failed(self) -> None:
        """Note that sending a frame failed part way: the next frame gets the FE prefix again."""
        self._prefix_due = True


@dataclass(frozen=True)
class Packet:
    """A complete packet: its unescaped payload and whether the received CRC matched."""

    payload: bytes
    crc_ok: bool


_HUNT, _LENGTH, _PAYLOAD, _CRC = range(4)


class Unframer:
    """Turns received wire bytes into Packet and FramingError events; resynchronises on FF FD."""

    def __init__(self, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        self.max_payload_bytes = max_payload_bytes
        self._state = _HUNT
        self._escape_pending = False
        self._field = bytearray()  # unescaped bytes of the current LEN, payload or CRC field
        self._length = 0
        self._payload = b""
        self._crc = CRC_INITIAL

    def min_bytes_needed(self) -> int:
        """A lower bound on the bytes still to come before the next packet can complete.

        A reader that asks its transport for no more than this never blocks on bytes that a
        well-behaved sender has no reason to send.
        """
        pending = 1 if self._escape_pending else 0
        if self._state == _HUNT:
            return max(1, _MIN_PACKET_WIRE_BYTES - pending)
        if self._state == _LENGTH:
            return _LEN_BYTES - len(self._field) + _CRC_BYTES
        if self._state == _PAYLOAD:
            return self._length - len(self._field) + _CRC_BYTES
        return _CRC_BYTES - len(self._field)

    def receive_data(self, data: bytes) -> list[Packet | FramingError]:
        """Consume ``data``; return the packets and errors it completed, in wire order."""
        events: list[Packet | FramingError] = []
        i = 0
        n = len(data)
        while i < n:
            if self._state == _PAYLOAD and not self._escape_pending:
                i = self._take_plain_run(data, i)
                if i >= n:
                    break
            byte = data[i]
            i += 1
            if self._escape_pending:
                self._escape_pending = False
                self._on_escape(byte, events)
            elif byte == ESCAPE:
                self._escape_pending = True
            elif self._state != _HUNT:
                self._on_data(bytes((byte,)), bytes((byte,)), events)
        return events

    def _take_plain_run(self, data: bytes, i: int) -> int:
        """Copy payload bytes up to the next escape or the end of the payload in one slice."""
        want = self._length - len(self._field)
        end = data.find(b"\xff", i, i + want)
        if end < 0:
            end = min(len(data), i + want)
        if end > i:
            chunk = data[i:end]
            self._crc = crc16(chunk, self._crc)
            self._field += chunk
            self._after_field_growth()
        return end

    def _on_escape(self, code: int, events: list[Packet | FramingError]) -> None:
        if code == START:
            if self._state != _HUNT:
                events.append(FramingError("short packet: a new packet started inside one"))
            self._begin_packet()
        elif self._state == _HUNT:
            return
        elif code == ESCAPE:
            self._on_data(b"\xff", b"\xff\xff", events)
        elif code == NOP:
            if self._state != _CRC:
                self._crc = crc16(b"\xff\xfe", self._crc)
        else:
            events.append(FramingError(f"invalid escape sequence FF {code:02X}"))
            self._state = _HUNT

    def _begin_packet(self) -> None:
        self._state = _LENGTH
        self._field = bytearray()
        self._crc = crc16(START_SEQUENCE)

    def _on_data(self, value: bytes, wire: bytes, events: list[Packet | FramingError]) -> None:
        """Add one unescaped byte (``wire`` is how it was transmitted) to the current field."""
        if self._state != _CRC:
            self._crc = crc16(wire, self._crc)
        self._field += value
        if self._state == _LENGTH and len(self._field) == _LEN_BYTES:
            (self._length,) = struct.unpack("<I", self._field)
            self._field = bytearray()
            if self._length > self.max_payload_bytes:
                events.append(
                    FramingError(
                        f"packet of {self._length} bytes exceeds the limit of "
                        f"{self.max_payload_bytes} bytes"
                    )
                )
                self._state = _HUNT
                return
            self._state = _PAYLOAD
            self._after_field_growth()
        elif self._state == _PAYLOAD:
            self._after_field_growth()
        elif self._state == _CRC and len(self._field) == _CRC_BYTES:
            (received,) = struct.unpack("<H", self._field)
            events.append(Packet(self._payload, received == self._crc))
            self._state = _HUNT

    def _after_field_growth(self) -> None:
        """Move from payload to CRC once the payload is complete."""
        if self._state == _PAYLOAD and len(self._field) == self._length:
            self._payload = bytes(self._field)
            self._field = bytearray()
            self._state = _CRC
