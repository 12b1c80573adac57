"""Device-side graph executor: real graph archives run standalone (C API) and over RPC with the
call sequence of TVM's tvm.graph_executor.create, with outputs equal to the references."""

from __future__ import annotations

import json
import struct
import subprocess

import numpy as np
import pytest
from support.runtime_build import (
    ALL_LIBS,
    C_DIR,
    GENERATED_CFLAGS,
    KNOWN_GENERATED_WARNINGS,
    MLF_DIR,
    Device,
    cached_device,
    cached_runtime,
    compile_c,
    decode_reply,
    extract_mlf,
    link_group,
    rpc,
    seq,
    tensor_bytes,
)

MODELS = ["mnist_graph", "mnist_graph_params"]
BIG_PACKET = 16384  # the MNIST graph JSON (minified, ~3 KB) travels in one message


@pytest.fixture(scope="module")
def harnesses(tmp_path_factory):
    libs, cfg = cached_runtime(tmp_path_factory)
    root = tmp_path_factory.mktemp("graph")
    out = {}
    for model in MODELS:
        mlf = extract_mlf(model, root)
        exe = root / f"{model}.bin"
        compile_c(
            exe,
            [C_DIR / "graph_harness.c", *sorted((mlf / "codegen/host/src").glob("*.c"))],
            includes=[cfg],
            link=link_group(libs, *ALL_LIBS),
            allowed_warnings=KNOWN_GENERATED_WARNINGS,
            cflags=GENERATED_CFLAGS,
        )
        out[model] = (exe, mlf)
    return out


def _run(harness, tmp_path, model):
    exe, mlf = harness
    x = np.load(MLF_DIR / f"{model}.input.npy")
    (tmp_path / "in.bin").write_bytes(x.tobytes())
    params = mlf / "parameters/default.params"
    r = subprocess.run(
        [
            exe,
            mlf / "executor-config/graph/default.graph",
            params,
            tmp_path / "in.bin",
            tmp_path / "out.bin",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize("model", MODELS)
def test_graph_standalone_matches_reference(model, harnesses, tmp_path):
    _run(harnesses[model], tmp_path, model)
    ref = np.load(MLF_DIR / f"{model}.output.npy")
    y = np.frombuffer((tmp_path / "out.bin").read_bytes(), np.float32).reshape(ref.shape)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_graph_params_required(harnesses, tmp_path):
    """Without its weights the unlinked-params model gives a different answer (weights are read)."""
    exe, mlf = harnesses["mnist_graph_params"]
    x = np.load(MLF_DIR / "mnist_graph_params.input.npy")
    (tmp_path / "in.bin").write_bytes(x.tobytes())
    subprocess.run(
        [
            exe,
            mlf / "executor-config/graph/default.graph",
            "-",
            tmp_path / "in.bin",
            tmp_path / "out.bin",
        ],
        check=True,
    )
    ref = np.load(MLF_DIR / "mnist_graph_params.output.npy")
    y = np.frombuffer((tmp_path / "out.bin").read_bytes(), np.float32).reshape(ref.shape)
    assert not np.allclose(y, ref, rtol=1e-3)


def _minified_graph(model: str, tmp_path) -> str:
    mlf = extract_mlf(model, tmp_path)
    return json.dumps(
        json.loads((mlf / "executor-config/graph/default.graph").read_text()), separators=(",", ":")
    )


def _params_blob(model: str, tmp_path) -> bytes:
    return (tmp_path / model / "parameters/default.params").read_bytes()


def _handle(reply: bytes) -> int:
    code, (_, values) = decode_reply(reply)
    assert code == 4, values
    return values[-1]


def _call(dev, h, *args):
    code, body = decode_reply(dev.request(rpc(3, struct.pack("<Q", h) + seq(*args))))
    return code, body


def _create_executor(dev, graph: str) -> int:
    """tvm.graph_executor.create over the system library, as TVM's host calls it; the module."""
    create = _handle(dev.request(rpc(9, seq((11, "tvm.graph_executor.create")))))
    assert create == 0x80028006  # registered after tvm.aot_executor.create
    syslib = _handle(dev.request(rpc(3, struct.pack("<Q", 0x80028000) + seq())))
    assert syslib == 0x8000
    code, (_, values) = _call(dev, create, (11, graph), (9, syslib), (0, 1), (0, 0))
    assert code == 4 and values[0] == 9, values
    return values[1]


@pytest.mark.parametrize("model", MODELS)
def test_graph_over_rpc_with_tvm_call_sequence(model, tmp_path_factory, tmp_path):
    exe = cached_device(tmp_path_factory, model, TVM_CRT_MAX_PACKET_SIZE_BYTES=BIG_PACKET)
    graph = _minified_graph(model, tmp_path)
    dev = Device(exe)
    try:
        dev.handshake()
        mod = _create_executor(dev, graph)
        names = [
            "set_input",
            "set_input_zero_copy",
            "set_output_zero_copy",
            "run",
            "get_output",
            "get_input",
            "get_num_outputs",
            "get_input_index",
            "get_input_info",
            "get_num_inputs",
            "load_params",
            "share_params",
        ]
        funcs = {}
        for n in names:
            _, (codes, values) = _call(dev, 0x80028001, (9, mod), (11, n), (0, 1))
            funcs[n] = values[1] if codes[1] == 3 else None
        assert funcs["set_input_zero_copy"] is None and funcs["set_output_zero_copy"] is None
        assert all(funcs[n] for n in names if "zero_copy" not in n)
        # get_num_inputs works (it crashes TVM's device).
        _, (_, values) = _call(dev, funcs["get_num_inputs"])
        n_inputs = values[1]
        assert n_inputs == (1 if model == "mnist_graph" else 7)
        _, (_, values) = _call(dev, funcs["get_num_outputs"])
        assert values[1] == 1
        if model == "mnist_graph_params":
            # Weights through set_input-style copies into get_input(name) (load_params of 24 KB
            # would not fit one message).
            blob = _params_blob(model, tmp_path)
            for name, arr in _parse_params(blob).items():
                _copy_to_input(dev, funcs["get_input"], name, arr)
        x = np.load(MLF_DIR / f"{model}.input.npy")
        _copy_to_input(dev, funcs["get_input"], "Input3", x)
        code, (codes, _) = _call(dev, funcs["run"])
        assert code == 4 and codes == [0, 4]
        _, (codes, values) = _call(dev, funcs["get_output"], (0, 0))
        assert codes == [0, 7, 3]
        t = values[1]
        code, data = decode_reply(
            dev.request(rpc(6, tensor_bytes(t["data"], t["shape"]) + struct.pack("<Q", 40)))
        )
        ref = np.load(MLF_DIR / f"{model}.output.npy")
        np.testing.assert_allclose(
            np.frombuffer(data, np.float32).reshape(ref.shape), ref, rtol=1e-5, atol=1e-6
        )
        # Bad input name: an Exception, the device keeps serving.
        code, (_, values) = _call(dev, funcs["get_input"], (11, "nope"))
        assert code == 5 and b"nope" in values[0]
        # Per-operator profile: index 10 of the module. Seconds per node (the input node: 0),
        # then a whole run timed as one.
        _, (codes, values) = _call(dev, (mod << 16) | 0x800A)
        num_nodes = len(json.loads(graph)["nodes"])
        assert codes == [0, 12] and len(values[1]) == 8 * (num_nodes + 1)
        *nodes, whole = struct.unpack(f"<{num_nodes + 1}d", values[1])
        assert nodes[0] == 0 and sum(1 for v in nodes if v > 0) == 8
        assert whole > 0
    finally:
        dev.close()


@pytest.mark.parametrize("model", MODELS)
def test_run_profile_adds_up_to_its_whole_run(model, tmp_path_factory, tmp_path):
    # Over the fastest half of 40 calls (a call counting as fast as its slower measurement), as
    # projectapi.micro's Profile does: robust on a machine busy with other programs.
    exe = cached_device(tmp_path_factory, model, TVM_CRT_MAX_PACKET_SIZE_BYTES=BIG_PACKET)
    graph = _minified_graph(model, tmp_path)
    num_nodes = len(json.loads(graph)["nodes"])
    dev = Device(exe)
    try:
        dev.handshake()
        run_profile = (_create_executor(dev, graph) << 16) | 0x800A
        rounds = []
        for _ in range(40):
            _, (_, values) = _call(dev, run_profile)
            *nodes, whole = struct.unpack(f"<{num_nodes + 1}d", values[1])
            assert sum(1 for v in nodes if v > 0) == 8
            rounds.append((sum(nodes), whole))
    finally:
        dev.close()
    kept = sorted(rounds, key=max)[:20]
    assert sum(n for n, _ in kept) == pytest.approx(sum(w for _, w in kept), rel=0.1)


def _parse_params(blob: bytes) -> dict[str, np.ndarray]:
    magic, _, n = struct.unpack_from("<QQQ", blob, 0)
    assert magic == 0xF7E58D4F05049CB7
    pos, names = 24, []
    for _ in range(n):
        (ln,) = struct.unpack_from("<Q", blob, pos)
        names.append(blob[pos + 8 : pos + 8 + ln].decode())
        pos += 8 + ln
    pos += 8
    out = {}
    for name in names:
        _, _, _, _, ndim = struct.unpack_from("<QQiii", blob, pos)
        pos += 28
        pos += 4  # dtype: float32 for these models
        shape = struct.unpack_from(f"<{ndim}q", blob, pos)
        pos += 8 * ndim
        (size,) = struct.unpack_from("<q", blob, pos)
        pos += 8
        out[name] = np.frombuffer(blob[pos : pos + size], np.float32).reshape(shape)
        pos += size
    return out


def _copy_to_input(dev, get_input, name, arr: np.ndarray):
    _, (codes, values) = _call(dev, get_input, (11, name))
    assert codes == [0, 7, 3], values
    t, handle = values[1], values[2]
    assert t["shape"] == list(arr.shape)
    data = np.ascontiguousarray(arr, np.float32).tobytes()
    chunk = 4000
    for off in range(0, len(data), chunk):
        part = data[off : off + chunk]
        pkt = rpc(
            7,
            tensor_bytes(t["data"], t["shape"], byte_offset=off)
            + struct.pack("<Q", len(part))
            + part,
        )
        code, _ = decode_reply(dev.request(pkt))
        assert code == 4
    code, _ = decode_reply(dev.request(rpc(10, seq((3, handle), (0, 13)))))
    assert code == 4
