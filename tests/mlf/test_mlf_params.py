"""The ``.params`` NDArray-list format: the spec's worked example, round trips and bad input."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from projectapi.mlf import ParamsFormatError, read_params, write_params

# docs/mlf.md, "Parameters file": one float32 tensor "p" = [10, 20, 30, 40].
WORKED_EXAMPLE = bytes.fromhex(
    "b79c04054f8de5f7" "0000000000000000" "0100000000000000" "0100000000000000" "70"
    "0100000000000000" "3fa1b496f0405edd" "0000000000000000" "0100000000000000" "01000000"
    "02200100" "0400000000000000" "1000000000000000"
    "0000204100" "00a0410000f04100002042"
)  # fmt: skip


def test_worked_example_from_the_spec() -> None:
    assert len(WORKED_EXAMPLE) == 105
    params = read_params(WORKED_EXAMPLE)
    assert list(params) == ["p"]
    np.testing.assert_array_equal(params["p"], np.array([10, 20, 30, 40], dtype=np.float32))
    assert write_params({"p": np.array([10, 20, 30, 40], dtype=np.float32)}) == WORKED_EXAMPLE


def test_empty_list_is_32_bytes() -> None:
    assert write_params({}) == struct.pack("<QQQQ", 0xF7E58D4F05049CB7, 0, 0, 0)
    assert read_params(write_params({})) == {}


def test_every_supported_dtype_round_trips_in_order() -> None:
    rng = np.random.default_rng(1)
    params = {
        "z_first": rng.standard_normal((2, 3)).astype(np.float32),
        "a_second": np.arange(-4, 4, dtype=np.int8).reshape(2, 2, 2),
        "u16": np.arange(5, dtype=np.uint16),
        "i64": np.array([-(2**40)], dtype=np.int64),
        "f16": np.array([0.5, -1.25], dtype=np.float16),
        "f64": np.array(3.5),  # rank 0
        "flags": np.array([True, False, True]),
        "big_endian": np.arange(3, dtype=">i4"),
        "empty": np.zeros((0, 4), dtype=np.uint8),
    }
    blob = write_params(params)
    back = read_params(blob)
    assert list(back) == list(params)
    for name, array in params.items():
        assert back[name].dtype == array.dtype.newbyteorder("=")
        np.testing.assert_array_equal(back[name], array)
        assert back[name].flags.writeable
    assert write_params(back) == blob


def _patch(offset: int, data: bytes) -> bytes:
    """The worked example with ``data`` written at ``offset``."""
    return WORKED_EXAMPLE[:offset] + data + WORKED_EXAMPLE[offset + len(data) :]


# Offsets in the worked example: names count 16, name 24..33, array count 33, tensor magic 41,
# device 57, ndim 65, dtype 69, shape 73, data size 81, data 89..105.
@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", r"ends at byte 0 while reading the list header"),
        (b"\x00" * 32, r"not a params file: list magic is 0x0000000000000000"),
        (WORKED_EXAMPLE[:30], r"while reading the length of name 0"),
        (WORKED_EXAMPLE[:-1], r"while reading the data of array 'p' \(needs 16 bytes"),
        (WORKED_EXAMPLE + b"\x00", r"1 unexpected bytes after the last array"),
        (_patch(33, struct.pack("<Q", 2)), r"1 names but 2 arrays"),
        (_patch(32, b"\xff"), r"name 0 is not valid UTF-8"),
        (_patch(41, bytes(8)), r"array 'p': tensor magic is 0x0000000000000000"),
        (_patch(57, struct.pack("<i", 2)), r"array 'p': device type 2, only CPU \(1\) is valid"),
        (_patch(65, struct.pack("<i", -1)), r"array 'p': rank -1 out of range"),
        (_patch(69, bytes([4, 16, 1, 0])), r"unsupported dtype \(code 4, bits 16, lanes 1\)"),
        (_patch(69, bytes([2, 32, 4, 0])), r"unsupported dtype \(code 2, bits 32, lanes 4\)"),
        (_patch(73, struct.pack("<q", -4)), r"negative dimension in shape \[-4\]"),
        (
            _patch(81, struct.pack("<q", 12)),
            r"data size 12 does not match shape \[4\] \(16 bytes\)",
        ),
    ],
)
def test_malformed_params_name_the_field(blob: bytes, message: str) -> None:
    with pytest.raises(ParamsFormatError, match=message):
        read_params(blob)


def test_unstorable_dtype_is_refused() -> None:
    with pytest.raises(ParamsFormatError, match="array 'c': dtype complex64 cannot be stored"):
        write_params({"c": np.zeros(2, dtype=np.complex64)})
