"""Fault injection on the host->device link: bytes flipped, dropped and duplicated at 1%.
Every reply the device sends must be the correct answer to the request it answers; corrupted
requests are never executed (their writes would show in the final read-back)."""

from __future__ import annotations

import random
import struct

from support.runtime_build import (
    Device,
    cached_device,
    decode_reply,
    frame,
    rpc,
    seq,
    tensor_bytes,
)

N = 60
RATE = 0.01


def corrupt(data: bytes, rng: random.Random) -> tuple[bytes, bool]:
    out = bytearray()
    changed = False
    for b in data:
        r = rng.random()
        if r < RATE / 3:
            out.append(b ^ (1 << rng.randrange(8)))
            changed = True
        elif r < 2 * RATE / 3:
            changed = True  # dropped
        elif r < RATE:
            out += bytes([b, b])
            changed = True
        else:
            out.append(b)
    return bytes(out), changed


def test_corrupted_link_never_yields_wrong_results(tmp_path_factory):
    rng = random.Random(20231018)
    dev = Device(cached_device(tmp_path_factory, None, TVM_CRT_MAX_PACKET_SIZE_BYTES=2048))
    try:
        dev.handshake()
        header = struct.pack("<HB", dev.session_id, 0x10)
        code, (_, values) = decode_reply(
            dev.request(
                rpc(
                    13,
                    seq(
                        (6, struct.pack("<ii", 1, 0)),
                        (0, 8 * N),
                        (0, 8),
                        (5, bytes([1, 8, 1, 0, 0, 0, 0, 0])),
                    ),
                )
            )
        )
        ptr = values[0]
        t = {"data": ptr, "shape": [8 * N], "dtype": (1, 8, 1)}
        # Slot k holds the pattern value k ^ MAGIC; every write below writes exactly that.
        magic = 0x5A5A_0000_0000_0000
        clean = b"".join(struct.pack("<Q", k ^ magic) for k in range(N))
        assert (
            decode_reply(
                dev.request(rpc(7, tensor_bytes(**t) + struct.pack("<Q", len(clean)) + clean))
            )[0]
            == 4
        )
        answered = lost = 0
        for k in range(N):
            value = struct.pack("<Q", k ^ magic)
            if k % 2 == 0:
                body = rpc(7, tensor_bytes(**t, byte_offset=8 * k) + struct.pack("<Q", 8) + value)
            else:
                body = rpc(6, tensor_bytes(**t, byte_offset=8 * k) + struct.pack("<Q", 8))
            wire, _ = corrupt(frame(header + body), rng)
            dev.write(wire)
            while True:
                try:
                    reply = dev.read_message(timeout=0.15)
                except AssertionError:
                    lost += 1
                    break
                assert reply[:3] == header
                code, payload = decode_reply(reply[3:])
                # A late reply to an earlier request (after its timeout) is recognisable: a void
                # reply while reading, or data of another slot. Skip it and keep waiting.
                if (k % 2 == 1 and code == 4) or (code == 8 and k % 2 == 0):
                    continue
                if code == 8 and payload != value:
                    earlier = struct.unpack("<Q", payload)[0] ^ magic
                    assert earlier < k and earlier % 2 == 1, (
                        f"request {k}: wrong data {payload.hex()}"
                    )
                    continue
                assert code in (4, 5, 8), code
                answered += 1
                break
        assert answered > N // 4 and lost > 0  # the link really was lossy
        # Read everything back over a clean link: no corrupted write was executed.
        dev.write(b"\xff\xfd\x00")  # terminate any half packet the noise left open
        while True:  # drop replies that arrived after their request timed out
            try:
                dev.read_message(timeout=0.5)
            except AssertionError:
                break
        back = b""
        for off in range(0, 8 * N, 512):
            n = min(512, 8 * N - off)
            code, data = decode_reply(
                dev.request(rpc(6, tensor_bytes(**t, byte_offset=off) + struct.pack("<Q", n)))
            )
            assert code == 8
            back += data
        assert back == clean
    finally:
        dev.close()
