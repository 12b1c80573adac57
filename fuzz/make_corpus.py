"""Writes the seed corpora (fuzz/corpus/<harness>/) from the spec's golden vectors and the
real TVM wire transcripts. Run from anywhere: python fuzz/make_corpus.py [SHARED_SPEC_DIR]."""

from __future__ import annotations

import binascii
import hashlib
import json
import pathlib
import struct
import sys

HERE = pathlib.Path(__file__).resolve().parent
SPEC = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[1] / "shared" / "spec"


def frame(payload: bytes, prefix: bool = False) -> bytes:
    esc = lambda b: b.replace(b"\xff", b"\xff\xff")  # noqa: E731
    body = b"\xff\xfd" + esc(struct.pack("<I", len(payload))) + esc(payload)
    return (
        (b"\xfe" if prefix else b"") + body + esc(struct.pack("<H", binascii.crc_hqx(body, 0xFFFF)))
    )


def unframe(stream: bytes) -> list[bytes]:
    """Payloads of valid packets (simple walker, enough for valid transcripts)."""
    out, i = [], 0
    while (i := stream.find(b"\xff\xfd", i)) >= 0:
        j, raw, start = i + 2, bytearray(), i
        try:
            while len(raw) < 4:
                raw.append(stream[j])
                j += 2 if stream[j] == 0xFF else 1
            n = struct.unpack("<I", raw)[0]
            raw = bytearray()
            while len(raw) < n:
                raw.append(stream[j])
                j += 2 if stream[j] == 0xFF else 1
            end = j
            crc = bytearray()
            while len(crc) < 2:
                crc.append(stream[j])
                j += 2 if stream[j] == 0xFF else 1
        except IndexError:
            break
        if binascii.crc_hqx(stream[start:end], 0xFFFF) == struct.unpack("<H", crc)[0]:
            out.append(bytes(raw))
        i = j
    return out


def save(kind: str, data: bytes):
    d = HERE / "corpus" / kind
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def main():
    spec_frames = [
        frame(b"\x01\x02\x03", True),
        frame(b"\xff\x1d\x00"),
        frame(bytes(255)),
        frame(b"\x00\x00\x02", True),
        frame(b"\x5a\x00\x00\x01"),
    ]
    for f in spec_frames:
        save("unframer", f)
    for path in sorted((SPEC / "transcripts").glob("*.jsonl")):
        streams = {"host->device": b"", "device->host": b""}
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if "write_failed" not in rec:
                streams[rec["dir"]] += bytes.fromhex(rec["hex"])
        for s in streams.values():
            save("unframer", s[:4096])
        payloads = unframe(streams["host->device"])
        msgs = b""
        for p in payloads[:40]:
            if len(p) < 256:
                msgs += bytes([len(p)]) + p
        save("session", msgs)
        for p in payloads:
            if len(p) > 3 and p[2] == 0x10 and len(p) < 600:
                save("rpc", p[3:])
    for model in ("mnist_graph", "mnist_graph_params"):
        import tarfile

        tar = SPEC.parent / "mlf" / f"{model}.tar"
        if tar.exists():
            with tarfile.open(tar) as tf:
                graph = tf.extractfile("./executor-config/graph/default.graph").read()
            save("graph_json", graph)
            save("graph_json", json.dumps(json.loads(graph), separators=(",", ":")).encode())
    save(
        "graph_json",
        b'{"nodes":[{"op":"null","name":"x","inputs":[]},{"op":"tvm_op","name":"f",'
        b'"attrs":{"func_name":"op","num_inputs":"1","num_outputs":"1"},"inputs":[[0,0,0]]}],'
        b'"arg_nodes":[0],"heads":[[1,0,0]],"node_row_ptr":[0,1,2],"attrs":{"dltype":["list_str",'
        b'["float32","float32"]],"storage_id":["list_int",[0,1]],"shape":["list_shape",[[2,3],[2,3]]]}}',
    )
    print("corpus written to", HERE / "corpus")


if __name__ == "__main__":
    main()
