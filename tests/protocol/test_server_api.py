"""server.py as a library: codecs, fd reads and writes with timeouts, options, errors, main()."""

from __future__ import annotations

import base64
import json
import os
import random
import struct
import subprocess
import sys
import time

import pytest

from projectapi import server


def _boundary_words() -> bytes:
    """Big-endian words next to every multiple of a power of 85, plus random ones."""
    words = {k * 85**j + d for j in range(6) for k in range(86) for d in (-1, 0, 1)}
    words |= {random.Random(7).getrandbits(32) for _ in range(20000)}
    return b"".join(struct.pack(">I", w) for w in sorted(words) if 0 <= w < 2**32)


@pytest.mark.parametrize("size", [*range(0, 13), 4095, 16384, 16385, 65537])
def test_b85_matches_the_standard_library(size: int):
    for data in (os.urandom(size), b"\xff" * size, bytes(size)):
        encoded = server.b85encode(data)
        assert encoded == base64.b85encode(data)
        assert server.b85decode(encoded) == data
        assert server.b85decode(encoded.decode()) == data


def test_b85_is_exact_at_every_digit_boundary():
    data = _boundary_words()
    assert server.b85encode(data) == base64.b85encode(data)
    assert server.b85decode(base64.b85encode(data)) == data


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("|NsC0~", "overflow"),
        ("~~~~~", "overflow"),
        ('ab"c', "bad base85 character"),
        ("é", "non-ASCII"),
    ],
)
def test_b85_decode_refuses_what_the_standard_library_refuses(text: str, fragment: str):
    with pytest.raises(ValueError):
        base64.b85decode(text)
    with pytest.raises(ValueError, match=fragment):
        server.b85decode(text)


@pytest.mark.parametrize(
    ("encoding", "bad"),
    [
        ("base64", "QQ="),
        ("base64", "QQ==\n"),
        ("base64", "Q Q=="),
        ("base16", "0g"),
        ("base16", "0 0"),
    ],
)
def test_other_encodings_are_strict(encoding: str, bad: str):
    data = os.urandom(1000)
    assert server.DECODERS[encoding](server.ENCODERS[encoding](data).decode()) == data
    with pytest.raises(ValueError):
        server.DECODERS[encoding](bad)


def test_read_with_timeout_returns_times_out_and_sees_eof():
    read_fd, write_fd = os.pipe()
    try:
        start = time.monotonic()
        with pytest.raises(server.IoTimeoutError):
            server.read_with_timeout(read_fd, 10, 0.1)
        assert 0.09 <= time.monotonic() - start < 2
        os.write(write_fd, b"abc")
        assert server.read_with_timeout(read_fd, 2, 0) == b"ab"
        assert server.read_with_timeout(read_fd, 10, None) == b"c"
        os.close(write_fd)
        with pytest.raises(server.TransportClosedError):
            server.read_with_timeout(read_fd, 10, 1)
    finally:
        os.close(read_fd)


@pytest.mark.parametrize("blocking", [False, True])
def test_write_with_timeout_writes_all_times_out_and_sees_a_closed_pipe(blocking: bool):
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, blocking)
    try:
        assert server.write_with_timeout(write_fd, b"x" * 1000, 1) == 1000
        assert os.read(read_fd, 2000) == b"x" * 1000
        start = time.monotonic()
        with pytest.raises(server.IoTimeoutError):  # nobody reads: the pipe fills up
            server.write_with_timeout(write_fd, b"y" * (1 << 20), 0.2)
        assert time.monotonic() - start < 2  # a blocking fd must not block past the timeout
        os.close(read_fd)
        with pytest.raises(server.TransportClosedError):
            server.write_with_timeout(write_fd, b"z", 1)
    finally:
        os.close(write_fd)


def test_project_option_keeps_tvm_shape_and_validates():
    option = server.ProjectOption(
        "board", choices=["a", "b"], type="str", required=["build"], help="h"
    )
    assert option._asdict() == {
        "name": "board",
        "choices": ["a", "b"],
        "default": None,
        "type": "str",
        "required": ["build"],
        "optional": None,
        "help": "h",
    }
    assert server.ProjectOption("n", None, 3, "int", None, ["flash"], "").default == 3
    assert option.replace({"default": "b"}).default == "b"
    for kwargs, fragment in [
        ({"type": "float", "optional": ["build"]}, "type must be one of"),
        ({"type": "str"}, "give required"),
        ({"type": "str", "required": ["compile"]}, "required must be a list of methods"),
        ({"type": "bool", "optional": ["build"], "default": "yes"}, "is not a bool"),
        ({"type": "int", "optional": ["build"], "default": True}, "is not a int"),
        (
            {"type": "str", "optional": ["build"], "choices": ["a"], "default": "z"},
            "not one of choices",
        ),
    ]:
        with pytest.raises(ValueError, match=fragment):
            server.ProjectOption("x", **kwargs)
    with pytest.raises(ValueError, match="unknown fields"):
        option.replace({"colour": "red"})


def test_default_project_options_apply_overrides():
    options = server.default_project_options(board={"choices": ["x"], "required": ["flash"]})
    board = next(o for o in options if o.name == "board")
    assert board.choices == ["x"] and board.required == ["flash"]
    assert {"verbose", "project_type", "board", "extra_files_tar"} <= {o.name for o in options}
    with pytest.raises(ValueError, match="no default options named"):
        server.default_project_options(bord={})


def test_error_classes_construct_and_describe_themselves():
    assert server.TransportClosedError().to_json() == {
        "code": -32000,
        "message": "TransportClosedError",
        "data": {},
    }
    try:
        raise KeyError("k")
    except KeyError as exc:
        error = server.ServerError.from_exception(exc)
    assert error.message == "KeyError" and "KeyError: 'k'" in error.data["traceback"]
    assert server.ErrorCode.PARSE_ERROR == -32700 and server.ErrorCode.SERVER_ERROR == -32000


def _run_main(argv: list[str]) -> subprocess.CompletedProcess:
    code = (
        "import sys; from projectapi import server\n"
        "class H(server.ProjectAPIHandler): pass\n"
        "for n in list(H.__abstractmethods__): setattr(H, n, lambda *a, **k: None)\n"
        "H.__abstractmethods__ = frozenset()\n"
        f"server.main(H(), {argv!r})\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "ignored-arg"], capture_output=True, timeout=30
    )


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--read-fd", "99", "--write-fd", "1"], "--read-fd: '99' is not an open file descriptor"),
        (["--read-fd=0", "--write-fd", "x"], "--write-fd: 'x' is not an open file descriptor"),
        (["--read-fd", "0"], "required: --write-fd"),
        (["--read-fd", "0", "--write-fd"], "--write-fd needs a file descriptor number"),
        (["--read-fd", "0", "--write-fd", "1", "--verbose"], "unrecognized argument '--verbose'"),
    ],
)
def test_main_names_bad_arguments(argv: list[str], fragment: str):
    result = _run_main(argv)
    assert result.returncode == 2
    assert fragment.encode() in result.stderr
    assert result.stderr.startswith(b"usage: ")


def test_main_honours_argv():
    result = _run_main(["--read-fd=0", "--write-fd", "1", "--debug"])  # empty stdin: EOF at once
    assert result.returncode == 0, result.stderr
    assert _run_main(["--help"]).stdout.startswith(b"usage: ")


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2.5, null, true]}\n', '  {"a": 1}  \r\n', '"x"', "7", '{"s": "\\u00e9\\n"}'],
)
def test_loads_line_agrees_with_json_loads(text: str):
    assert server.loads_line(text.encode()) == json.loads(text)
    assert server.loads_line(text) == json.loads(text)


@pytest.mark.parametrize("text", ['{"a": 1} {"b": 2}', "{", "", "nul", b"\xff"])
def test_loads_line_refuses_what_json_loads_refuses(text):
    with pytest.raises(ValueError):
        server.loads_line(text.encode() if isinstance(text, str) else text)


@pytest.mark.parametrize("value", [None, 0, -3, 2**70, 1.5, 'é"\\', {"k": [1, "v"]}, [], True])
def test_dumps_compact_is_compact_json(value: object):
    assert server.dumps_compact(value) == json.dumps(value, separators=(",", ":"))


@pytest.mark.parametrize(
    ("line", "data"),
    [
        ('{"id":1,"result":{"data":"0aff"}}', b"0aff"),  # cut out, returned as bytes
        ('{"id":1,"result":{"data":"a\\"b"}}', 'a"b'),  # escapes: parsed as usual
        ('{"id":1,"result":{"data": "0aff"}}', "0aff"),  # other spacing: parsed as usual
        ('{"data":"x","result":{"data":"0aff"}}', "0aff"),  # first "data" is not the one
        ('{"id":1,"result":{"n":{"data":"0aff"}}}', None),  # nested deeper: parsed as usual
    ],
)
def test_loads_line_with_data_only_cuts_the_data_string(line: str, data: object):
    value = server.loads_line_with_data(line.encode(), "result")
    expected = json.loads(line)
    if data is None:
        assert value == expected
    else:
        assert value["result"]["data"] == data
        value["result"]["data"] = expected["result"]["data"]
        assert value == expected


def test_the_public_module_has_every_name_templates_and_tvm_use() -> None:
    from microtvm_kit import server as kit_server

    assert server is kit_server
    names = [
        "ProjectAPIHandler",
        "ProjectAPIServer",
        "ProjectOption",
        "ServerInfo",
        "TransportTimeouts",
        "main",
        "JSONRPCError",
        "ErrorCode",
        "ServerError",
        "TransportClosedError",
        "IoTimeoutError",
        "UnsupportedTVMVersionError",
        "default_project_options",
    ]
    missing = [name for name in names if not hasattr(server, name)]
    assert not missing
    assert set(server.__all__) <= set(dir(server))
    assert issubclass(server.IoTimeoutError, server.ServerError)
    assert issubclass(server.ServerError, server.JSONRPCError)
