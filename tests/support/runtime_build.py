"""Build helpers for the device-runtime tests: configure/build the runtime, compile C programs."""

from __future__ import annotations

import binascii
import json
import os
import pathlib
import re
import select
import shutil
import struct
import subprocess
import tarfile
import time

import microtvm_kit
from support.data import MLF_DIR

RUNTIME_DIR = microtvm_kit.RUNTIME_DIR
C_DIR = pathlib.Path(__file__).resolve().parents[1] / "runtime" / "c"
JOBS = str(max(2, os.cpu_count() or 2))

# Warnings the generated code is known to produce (docs/generated-code.md).
KNOWN_GENERATED_WARNINGS = ("-Wincompatible-pointer-types", "-Wstrict-aliasing")


def shared_cache(tmp_path_factory, key: str, build) -> pathlib.Path:
    """Runs build(dir) once per test session for `key`, shared by all xdist workers."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = base / "runtime-cache"
    root.mkdir(exist_ok=True)
    out = root / key
    done = root / f"{key}.done"
    lock = root / f"{key}.lock"
    deadline = time.monotonic() + 600
    while not done.exists():
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            assert time.monotonic() < deadline, f"timed out waiting for {lock}"
            time.sleep(0.2)
            continue
        os.close(fd)
        try:
            if out.exists():
                shutil.rmtree(out)
            out.mkdir()
            build(out)
            done.touch()
        finally:
            lock.unlink()
    return out


def write_config(dest: pathlib.Path, **macros: int) -> pathlib.Path:
    """Writes crt_config.h from the shipped template with some macros overridden."""
    dest.mkdir(parents=True, exist_ok=True)
    text = (RUNTIME_DIR / "crt_config.h.template").read_text()
    for name, value in macros.items():
        text, n = re.subn(rf"#define {name} .*", f"#define {name} {value}", text)
        if n == 0:
            text = text.replace(
                "#endif /* CRT_CONFIG_H_ */", f"#define {name} {value}\n#endif /* CRT_CONFIG_H_ */"
            )
    (dest / "crt_config.h").write_text(text)
    return dest


def build_runtime(
    build_dir: pathlib.Path,
    config_dir: pathlib.Path,
    *,
    cc: str = "gcc",
    cflags: str = "-O2",
    libs: str | None = None,
) -> dict[str, pathlib.Path]:
    """Configures and builds the runtime; returns {component: static library path}."""
    args = [
        "cmake",
        "-S",
        str(RUNTIME_DIR),
        "-B",
        str(build_dir),
        f"-DCRT_CONFIG_PATH={config_dir}",
        "-DCRT_WARNINGS_AS_ERRORS=ON",
        f"-DCMAKE_C_COMPILER={cc}",
        f"-DCMAKE_C_FLAGS={cflags}",
        "-DCMAKE_BUILD_TYPE=None",
    ]
    if libs is not None:
        args.append(f"-DCRT_LIBS={libs}")
    subprocess.run(args, check=True, capture_output=True, text=True)
    r = subprocess.run(
        ["cmake", "--build", str(build_dir), "-j", JOBS], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return {p.name[len("libtvm_crt_") : -2]: p for p in build_dir.glob("libtvm_crt_*.a")}


def link_group(libs: dict[str, pathlib.Path], *names: str) -> list[str]:
    """Linker arguments for some runtime libraries as one group (order-independent)."""
    return ["-Wl,--start-group", *[str(libs[n]) for n in names], "-Wl,--end-group"]


def compile_c(
    out: pathlib.Path,
    sources: list[pathlib.Path | str],
    *,
    includes: list[pathlib.Path] = (),
    defines: list[str] = (),
    link: list[str] = (),
    cflags: list[str] = ("-O2",),
    allowed_warnings: tuple[str, ...] = (),
    cc: str = "gcc",
) -> str:
    """Compiles and links with -Wall -Wextra -Werror (minus allowed warnings); returns stderr."""
    args = [cc, "-std=gnu11", "-Wall", "-Wextra", "-Werror", *cflags]
    for w in allowed_warnings:
        args.append("-Wno-error=" + w[2:])
    args += [f"-I{RUNTIME_DIR / 'include'}", *[f"-I{p}" for p in includes]]
    args += [f"-D{d}" for d in defines]
    args += [str(s) for s in sources] + ["-o", str(out), *link, "-lm"]
    r = subprocess.run(args, capture_output=True, text=True)
    assert r.returncode == 0, " ".join(args) + "\n" + r.stderr
    for line in r.stderr.splitlines():
        if "warning:" in line:
            assert any(f"[{w}" in line for w in allowed_warnings), line
    return r.stderr


def compile_sanitized(
    out: pathlib.Path,
    main_source: pathlib.Path,
    components: tuple[str, ...],
    config_dir: pathlib.Path,
    defines: list[str] = (),
) -> None:
    """Compiles a test program with runtime components' sources under ASan and UBSan."""
    sources = [main_source]
    for component in components:
        sources += sorted((RUNTIME_DIR / "src" / component).glob("*.c"))
    compile_c(
        out,
        sources,
        includes=[config_dir],
        defines=defines,
        cflags=["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"],
    )


def extract_mlf(name: str, dest: pathlib.Path) -> pathlib.Path:
    """Extracts a shared MLF archive (trusted test data) into dest/name."""
    out = dest / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tarfile.open(MLF_DIR / f"{name}.tar") as tf:
        tf.extractall(out, filter="data")
    return out


# ---- a tiny independent host side for the tests (framing + session) ----------------------------


def escape(data: bytes) -> bytes:
    return data.replace(b"\xff", b"\xff\xff")


def frame(payload: bytes, prefix: bool = False) -> bytes:
    """One packet: [FE] FF FD LEN payload CRC, CRC over the escaped bytes."""
    body = b"\xff\xfd" + escape(struct.pack("<I", len(payload))) + escape(payload)
    crc = binascii.crc_hqx(body, 0xFFFF)
    return (b"\xfe" if prefix else b"") + body + escape(struct.pack("<H", crc))


def unframe(stream: bytes) -> list[tuple[bytes, int]]:
    """Payloads of the complete valid packets in a byte stream, each with the index just past it."""
    out = []
    state = "hunt"
    i, n = 0, len(stream)
    raw = bytearray()
    need = crc_start = crc_end = 0
    payload = b""
    while i < n:
        b = stream[i]
        if b == 0xFF:
            if i + 1 >= n:
                break
            nb = stream[i + 1]
            i += 2
            if nb == 0xFD:
                state, crc_start, raw = "len", i - 2, bytearray()
                continue
            if state == "hunt" or nb == 0xFE:
                continue
            if nb != 0xFF:
                state = "hunt"
                continue
            val = 0xFF
        else:
            i += 1
            if state == "hunt":
                continue
            val = b
        raw.append(val)
        if state == "len" and len(raw) == 4:
            need = struct.unpack("<I", bytes(raw))[0]
            raw = bytearray()
            state = "payload" if need else "crc"
            payload, crc_end = b"", i
        elif state == "payload" and len(raw) == need:
            payload, crc_end, raw, state = bytes(raw), i, bytearray(), "crc"
        elif state == "crc" and len(raw) == 2:
            if (
                binascii.crc_hqx(stream[crc_start:crc_end], 0xFFFF)
                == struct.unpack("<H", bytes(raw))[0]
            ):
                out.append((payload, i))
            state = "hunt"
    return out


def load_transcript(path) -> list[tuple[str, bytes]]:
    """[(direction, payload)] for every complete frame of a transcript, in record order per direction."""
    streams = {"host->device": b"", "device->host": b""}
    for line in pathlib.Path(path).read_text().splitlines():
        rec = json.loads(line)
        if "write_failed" in rec:
            continue
        streams[rec["dir"]] += bytes.fromhex(rec["hex"])
    return {d: [p for p, _ in unframe(s)] for d, s in streams.items()}


class Device:
    """The host-process device program with byte-level access and timeouts."""

    def __init__(self, exe, *args):
        import subprocess

        self.proc = subprocess.Popen(
            [str(exe), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.buf = b""
        self.session_id = 0

    def write(self, data: bytes):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_payload(self, timeout=10.0) -> bytes:
        """Next valid frame's payload from the device."""
        deadline = time.monotonic() + timeout
        while True:
            found = unframe(self.buf)
            if found:
                payload, end = found[0]
                self.buf = self.buf[end:]
                return payload
            left = deadline - time.monotonic()
            assert left > 0, (
                f"device sent no complete frame within {timeout}s; got {self.buf[:64].hex()}"
            )
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                assert chunk, "device closed its output: " + self.proc.stderr.read().decode(
                    errors="replace"
                )
                self.buf += chunk

    def read_message(self, timeout=10.0, skip_logs=True) -> bytes:
        while True:
            p = self.read_payload(timeout)
            if skip_logs and len(p) >= 3 and p[2] == 0x03:
                continue
            return p

    def handshake(self, nonce=0x5A):
        boot = self.read_message()
        assert boot == b"\x00\x00\x02", boot.hex()
        self.write(frame(b"\x00\x00\x02", prefix=True) + frame(bytes([nonce, 0, 0, 1])))
        reply = self.read_message()
        assert reply[0] == nonce and reply[2] == 0x01 and reply[3:] == b"\x01", reply.hex()
        self.session_id = struct.unpack("<H", reply[:2])[0]
        return self.session_id

    def request(self, rpc_packet: bytes, timeout=10.0) -> bytes:
        """Sends one RPC packet (with its 8-byte length) and returns the reply's RPC packet."""
        self.write(frame(struct.pack("<HB", self.session_id, 0x10) + rpc_packet))
        reply = self.read_message(timeout)
        assert reply[:3] == struct.pack("<HB", self.session_id, 0x10), reply[:3].hex()
        return reply[3:]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


# ---- RPC packet decoding (replies) -------------------------------------------------------------


def _tensor(b: bytes, pos: int):
    data, dev_type, dev_id, ndim = struct.unpack_from("<QiiI", b, pos)
    code, bits, lanes = struct.unpack_from("<BBH", b, pos + 20)
    shape = list(struct.unpack_from(f"<{ndim}q", b, pos + 24))
    (byte_offset,) = struct.unpack_from("<Q", b, pos + 24 + 8 * ndim)
    t = {
        "data": data,
        "device": (dev_type, dev_id),
        "dtype": (code, bits, lanes),
        "shape": shape,
        "byte_offset": byte_offset,
    }
    return t, pos + 32 + 8 * ndim


def decode_sequence(b: bytes, pos: int = 0):
    (n,) = struct.unpack_from("<i", b, pos)
    codes = list(struct.unpack_from(f"<{n}i", b, pos + 4))
    pos += 4 + 4 * n
    values = []
    for c in codes:
        if c in (0, 1, 3, 9, 10):
            values.append(struct.unpack_from("<q" if c == 0 else "<Q", b, pos)[0])
            pos += 8
        elif c == 2:
            values.append(struct.unpack_from("<d", b, pos)[0])
            pos += 8
        elif c == 4:
            values.append(None)
        elif c in (5, 6):
            values.append(b[pos : pos + 8])
            pos += 8
        elif c == 7:
            t, pos = _tensor(b, pos)
            values.append(t)
        elif c in (11, 12):
            (ln,) = struct.unpack_from("<Q", b, pos)
            values.append(b[pos + 8 : pos + 8 + ln])
            pos += 8 + ln
        else:
            raise ValueError(f"type code {c}")
    return codes, values, pos


def decode_reply(pkt: bytes):
    """(code, payload) of an RPC reply packet (with its 8-byte length)."""
    (nbytes,) = struct.unpack_from("<Q", pkt, 0)
    assert nbytes == len(pkt) - 8, (nbytes, len(pkt))
    (code,) = struct.unpack_from("<i", pkt, 8)
    if code in (4, 5):
        codes, values, end = decode_sequence(pkt, 12)
        assert end == len(pkt)
        return code, (codes, values)
    if code == 8:
        return code, pkt[12:]
    raise AssertionError(f"unexpected reply code {code}")


def rpc(code: int, body: bytes) -> bytes:
    """An RPC packet with its length field."""
    inner = struct.pack("<i", code) + body
    return struct.pack("<Q", len(inner)) + inner


def seq(*args: tuple[int, object]) -> bytes:
    """Packed sequence from (type code, value) pairs (values: int, float, str, bytes, tensor dict)."""
    codes = b"".join(struct.pack("<i", c) for c, _ in args)
    vals = b""
    for c, v in args:
        if c == 0:
            vals += struct.pack("<q", v)
        elif c in (3, 8, 9, 10, 13):
            vals += struct.pack("<Q", v)
        elif c == 2:
            vals += struct.pack("<d", v)
        elif c == 4:
            pass
        elif c in (5, 6):
            vals += v
        elif c == 11:
            vals += struct.pack("<Q", len(v.encode())) + v.encode()
        elif c == 12:
            vals += struct.pack("<Q", len(v)) + v
        elif c == 7:
            vals += tensor_bytes(**v)
        else:
            raise ValueError(c)
    return struct.pack("<i", len(args)) + codes + vals


def tensor_bytes(data, shape, dtype=(2, 32, 1), device=(1, 0), byte_offset=0) -> bytes:
    return (
        struct.pack("<QiiI", data, device[0], device[1], len(shape))
        + struct.pack("<BBH", *dtype)
        + struct.pack(f"<{len(shape)}q", *shape)
        + struct.pack("<Q", byte_offset)
    )


# ---- cached builds shared by the test modules -------------------------------------------------

ALL_LIBS = (
    "common",
    "memory",
    "microtvm_rpc_common",
    "microtvm_rpc_server",
    "aot_executor",
    "aot_executor_module",
    "graph_executor",
    "graph_executor_module",
    "platform_posix",
)
# Generated code has unused parameters and variables; -Wextra is meant for our code.
GENERATED_CFLAGS = [
    "-O1",
    "-Wno-unused-parameter",
    "-Wno-unused-variable",
    "-Wno-unused-but-set-variable",
]


def _key(prefix: str, *parts) -> str:
    import hashlib

    return prefix + "-" + hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def cached_runtime(tmp_path_factory, **macros) -> tuple[dict[str, pathlib.Path], pathlib.Path]:
    """All runtime libraries built once per session for this configuration; (libs, config dir)."""

    def build(d: pathlib.Path):
        cfg = write_config(d / "cfg", **macros)
        build_runtime(d / "build", cfg, libs=";".join(ALL_LIBS))

    d = shared_cache(tmp_path_factory, _key("rt", sorted(macros.items())), build)
    libs = {p.name[len("libtvm_crt_") : -2]: p for p in (d / "build").glob("libtvm_crt_*.a")}
    return libs, d / "cfg"


def cached_device(tmp_path_factory, model: str | None = None, **macros) -> pathlib.Path:
    """The host-process device program linked with `model`'s system library (or none)."""
    libs, cfg = cached_runtime(tmp_path_factory, **macros)

    def build(d: pathlib.Path):
        sources = [C_DIR / "rpc_device_main.c"]
        if model:
            mlf = extract_mlf(model, d)
            sources += sorted((mlf / "codegen/host/src").glob("*.c"))
        compile_c(
            d / "device",
            sources,
            includes=[cfg],
            defines=["DEVICE_WITH_GRAPH_EXECUTOR"] if "graph_executor_module" in libs else [],
            link=link_group(libs, *[n for n in ALL_LIBS if n in libs]),
            allowed_warnings=KNOWN_GENERATED_WARNINGS,
            cflags=GENERATED_CFLAGS,
        )

    return (
        shared_cache(tmp_path_factory, _key("dev", model, sorted(macros.items())), build) / "device"
    )
