"""Host side of the standalone link protocol (project type ``aot_standalone``).

Request: ``"PAR1"``, u32 repeat (>= 1), then every input's bytes in model input order.
Reply: ``"PAO1"``, i32 status, u32 repeat, f64 total seconds, f64 fastest run in seconds, then
every output's bytes in model output order (absent when status != 0). Little-endian throughout.

``encode_request`` and ``ReplyParser`` are pure (bytes in, values out); ``StandaloneRunner``
drives them over any transport with ``read(n, timeout_sec)`` and ``write(data, timeout_sec)``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from microtvm_kit.transport import Transport
from projectapi import server
from projectapi.errors import ProjectAPIError
from projectapi.tensors import TensorLayout, check_inputs

REQUEST_MAGIC = b"PAR1"
REPLY_MAGIC = b"PAO1"
_REQUEST_HEADER = struct.Struct("<4sI")
_REPLY_HEADER = struct.Struct("<4siIdd")
# The device answers repeat values it cannot run (0) with this status (microtvm_kit/c).
STATUS_BAD_REPEAT = -1000
_MAX_REPEAT = 0xFFFFFFFF
# Largest piece requested from the transport per read call.
_READ_CHUNK = 64 * 1024
# Default wait for each piece of the reply: a model run on a slow board plus its output.
DEFAULT_TIMEOUT_SEC = 60.0


class StandaloneError(ProjectAPIError):
    """The standalone program answered with an error or not in the protocol."""


@dataclass(frozen=True)
class StandaloneResult:
    """Outputs and the program's own timing of one request."""

    outputs: dict[str, np.ndarray]
    repeat: int
    total_seconds: float
    fastest_seconds: float

    @property
    def mean_seconds(self) -> float:
        """Average seconds per run."""
        return self.total_seconds / self.repeat


def encode_request(inputs: Sequence[bytes], repeat: int) -> bytes:
    """The request bytes for ``repeat`` runs on ``inputs`` (raw bytes in model input order)."""
    if not 1 <= repeat <= _MAX_REPEAT:
        raise StandaloneError(f"repeat must be between 1 and {_MAX_REPEAT}, got {repeat}")
    return _REQUEST_HEADER.pack(REQUEST_MAGIC, repeat) + b"".join(inputs)


class ReplyParser:
    """Collects reply bytes until one whole reply is in; bytes before ``"PAO1"`` are skipped."""

    def __init__(self, outputs: Sequence[TensorLayout]) -> None:
        """Expect a reply carrying ``outputs`` in this order."""
        self._outputs = list(outputs)
        self._buffer = bytearray()

    def needed(self) -> int:
        """How many more bytes complete the reply as far as is known now (>= 1 until done)."""
        start = self._buffer.find(REPLY_MAGIC)
        if start < 0:
            return _REPLY_HEADER.size
        have = len(self._buffer) - start
        if have < _REPLY_HEADER.size:
            return _REPLY_HEADER.size - have
        status = _REPLY_HEADER.unpack_from(self._buffer, start)[1]
        body = sum(t.nbytes for t in self._outputs) if status == 0 else 0
        return max(_REPLY_HEADER.size + body - have, 0)

    def feed(self, data: bytes) -> StandaloneResult | None:
        """Add received bytes; return the result once complete, raise on a device error."""
        self._buffer += data
        if self.needed() > 0:
            return None
        start = self._buffer.find(REPLY_MAGIC)
        _, status, repeat, total, fastest = _REPLY_HEADER.unpack_from(self._buffer, start)
        if status == STATUS_BAD_REPEAT:
            raise StandaloneError(f"the program refused repeat={repeat}")
        if status != 0:
            raise StandaloneError(f"the model failed on the device with status {status}")
        offset = start + _REPLY_HEADER.size
        outputs = {}
        for layout in self._outputs:
            raw = bytes(self._buffer[offset : offset + layout.nbytes])
            outputs[layout.name] = np.frombuffer(raw, dtype=layout.dtype).reshape(layout.shape)
            offset += layout.nbytes
        return StandaloneResult(outputs, repeat, total, fastest)


class StandaloneRunner:
    """Runs a model in a standalone program over an open transport."""

    def __init__(
        self,
        transport: Transport,
        inputs: Sequence[TensorLayout],
        outputs: Sequence[TensorLayout],
        timeout_sec: float | None = DEFAULT_TIMEOUT_SEC,
    ) -> None:
        """Talk over ``transport``; each read waits at most ``timeout_sec`` (None: forever)."""
        self._transport = transport
        self._inputs = list(inputs)
        self._outputs = list(outputs)
        self._timeout = timeout_sec

    def run(
        self, inputs: Mapping[str, np.ndarray], repeat: int = 1, timeout_sec: float | None = None
    ) -> StandaloneResult:
        """Send every input (by name), run ``repeat`` times, return outputs and timing.

        Each read waits at most ``timeout_sec`` (default: the runner's).
        """
        arrays = check_inputs(self._inputs, inputs)
        timeout = self._timeout if timeout_sec is None else timeout_sec
        request = encode_request([np.ascontiguousarray(a).tobytes() for a in arrays.values()], repeat)
        parser = ReplyParser(self._outputs)
        try:
            self._transport.write(request, timeout)
            while True:
                piece = self._transport.read(min(parser.needed(), _READ_CHUNK), timeout)
                result = parser.feed(piece)
                if result is not None:
                    return result
        except server.IoTimeoutError:
            raise StandaloneError(
                f"the program sent no reply within {timeout:g} s (is it a standalone program? "
                "if the model is this slow, pass a larger --timeout)"
            ) from None
        except server.TransportClosedError:
            raise StandaloneError(
                "the program closed its transport before replying (did it crash? run it "
                "directly with --input to see its messages)"
            ) from None
