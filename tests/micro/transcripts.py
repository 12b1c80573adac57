"""Replay of the recorded TVM v0.14 wire transcripts (spec/transcripts/*.jsonl).

``load_frames(name)`` parses a transcript into session messages in record order.
``TranscriptDevice`` is an in-memory transport that plays the device side: every message the
host sends must equal the next host message of the transcript (session ids aside), and it
answers with the device messages that followed, rewritten to the host's session id. A device
implementation can be checked the other way round with the same frames.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass

import numpy as np
from support.data import MLF_DIR, TRANSCRIPT_DIR

from projectapi.micro.framing import Framer, Packet, Unframer
from projectapi.micro.rpc_codec import decode_packet
from projectapi.micro.session_protocol import HEADER, MessageType, encode_message

HOST_TO_DEVICE = "host->device"
DEVICE_TO_HOST = "device->host"


@dataclass(frozen=True)
class Frame:
    """One packet of a transcript: direction, session message payload, records it spans."""

    number: int
    direction: str
    payload: bytes
    first_record: int
    last_record: int

    @property
    def session_id(self) -> int:
        return HEADER.unpack_from(self.payload)[0]

    @property
    def message_type(self) -> int:
        return HEADER.unpack_from(self.payload)[1]

    @property
    def body(self) -> bytes:
        return self.payload[HEADER.size :]


def load_frames(name: str) -> list[Frame]:
    """The frames of transcript ``name`` (e.g. ``"a_aot_packed_syslib_mnist"``), numbered from 1.

    The host's final, failed ``FF FD`` (the Shutdown that never left) is skipped.
    """
    lines = (TRANSCRIPT_DIR / f"{name}.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    unframers = {HOST_TO_DEVICE: Unframer(), DEVICE_TO_HOST: Unframer()}
    starts: dict[str, int | None] = {HOST_TO_DEVICE: None, DEVICE_TO_HOST: None}
    found: list[tuple[int, int, str, bytes]] = []
    for index, record in enumerate(records):
        if record.get("write_failed"):
            continue
        direction = record["dir"]
        if starts[direction] is None:
            starts[direction] = index
        for event in unframers[direction].receive_data(bytes.fromhex(record["hex"])):
            assert isinstance(event, Packet) and event.crc_ok, f"record {index}: {event}"
            found.append((starts[direction], index, direction, event.payload))
            starts[direction] = None
    found.sort()
    return [
        Frame(n, direction, payload, first, last)
        for n, (first, last, direction, payload) in enumerate(found, start=1)
    ]


class ReplayMismatch(AssertionError):
    """The host under test departed from the transcript."""


def _describe(body: bytes, limit: int = 300) -> str:
    try:
        text = repr(decode_packet(body))
    except Exception:  # the description is only for the failure message
        text = body.hex(" ")
    return text if len(text) <= limit else text[:limit] + "..."


class TranscriptDevice:
    """A transport whose device side replays a transcript and checks the host's messages."""

    def __init__(self, frames: list[Frame], timeouts: dict[str, float] | None = None) -> None:
        self.frames = frames
        self.position = 0
        self.is_open = False
        self.session_id: int | None = None
        self._timeouts = timeouts or {
            "session_start_retry_timeout_sec": 0,
            "session_start_timeout_sec": 5,
            "session_established_timeout_sec": 5,
        }
        self._unframer = Unframer()
        self._framer = Framer()
        self._nonce = 0
        self._outbox = bytearray()

    @property
    def finished(self) -> bool:
        """Every frame of the transcript has been sent or answered."""
        return self.position == len(self.frames)

    def open(self) -> dict[str, float]:
        self.is_open = True
        return self._timeouts

    def close(self) -> None:
        self.is_open = False

    def write(self, data: bytes, timeout_sec: float | None) -> int:
        assert self.is_open, "write on a closed transport"
        for event in self._unframer.receive_data(data):
            assert isinstance(event, Packet) and event.crc_ok, f"host sent a bad packet: {event}"
            self._on_host_message(event.payload)
        return len(data)

    def read(self, n: int, timeout_sec: float | None) -> bytes:
        assert self.is_open, "read on a closed transport"
        if not self._outbox:
            raise ReplayMismatch(
                f"the host waits for a reply the transcript does not have (frame {self.position})"
            )
        data = bytes(self._outbox[:n])
        del self._outbox[:n]
        return data

    def _on_host_message(self, payload: bytes) -> None:
        if self.finished or self.frames[self.position].direction != HOST_TO_DEVICE:
            raise ReplayMismatch(
                f"host sent {_describe(payload[3:])} where the transcript has "
                + ("nothing more" if self.finished else f"device frame {self.position + 1}")
            )
        expected = self.frames[self.position]
        session_id, message_type = HEADER.unpack_from(payload)
        if message_type != expected.message_type or payload[3:] != expected.body:
            raise ReplayMismatch(
                f"frame {expected.number}: host sent {_describe(payload[3:])}, "
                f"transcript has {_describe(expected.body)}"
            )
        if message_type == MessageType.START_SESSION_INIT:
            self._nonce = session_id
        elif message_type == MessageType.NORMAL and session_id != self.session_id:
            raise ReplayMismatch(f"frame {expected.number}: wrong session id 0x{session_id:04x}")
        elif message_type == MessageType.TERMINATE_SESSION and session_id != 0:
            raise ReplayMismatch(f"frame {expected.number}: TerminateSession with a session id")
        self.position += 1
        while not self.finished and self.frames[self.position].direction == DEVICE_TO_HOST:
            self._send(self.frames[self.position])
            self.position += 1

    def _send(self, frame: Frame) -> None:
        session_id = frame.session_id
        if frame.message_type == MessageType.START_SESSION_REPLY:
            self.session_id = self._nonce | (session_id & 0xFF00)
            session_id = self.session_id
        elif frame.message_type == MessageType.NORMAL:
            session_id = self.session_id or 0
        message = encode_message(session_id, frame.message_type, frame.body)
        self._outbox += self._framer.frame(message)


def mlf_member(archive: str, suffix: str) -> bytes:
    """The bytes of the member of ``archive`` (in the shared MLF folder) ending with ``suffix``."""
    with tarfile.open(MLF_DIR / archive) as tar:
        for member in tar.getmembers():
            if member.name.endswith(suffix) and member.isfile():
                file = tar.extractfile(member)
                assert file is not None
                return file.read()
    raise FileNotFoundError(f"{archive} has no member ending with {suffix}")


def mlf_input_output(model: str) -> tuple[np.ndarray, np.ndarray]:
    """The reference input and output arrays of ``model`` (e.g. ``"mnist_graph"``)."""
    return np.load(MLF_DIR / f"{model}.input.npy"), np.load(MLF_DIR / f"{model}.output.npy")
