"""Transport data as JSON-safe text: base85 (the protocol's default), base64 and base16.

Encoded text never contains '"' or '\\', so it can be put into JSON strings verbatim. The base85
codec gives the bytes of ``base64.b85encode``/``b85decode`` many times faster.
"""

from __future__ import annotations

import binascii

# Transport encodings this server can speak; base85 is the protocol's default and comes first.
# A client may ask for another one with the extra "encoding" parameter of the transport calls.
TRANSPORT_ENCODINGS = ("base85", "base64", "base16")

# base64.b85encode/b85decode are pure Python (a few MB/s). These produce identical bytes, but do
# the arithmetic on many 32-bit words at once: the words are spread into fixed-width lanes of one
# big integer, and multiplications by small constants work on every lane in one C-level operation
# (no lane ever overflows into its neighbour).

_B85_ALPHABET = (
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
)
_B85_DIGIT_TO_CHAR = _B85_ALPHABET + bytes(256 - 85)
_B85_CHAR_TO_DIGIT = bytes(
    _B85_ALPHABET.index(c) if c in _B85_ALPHABET else 0xFF for c in range(256)
)
_B85_CHUNK_WORDS = 4096  # words per big-integer pass: 16 KiB of data stays cache-friendly

# Encoding: lane = 9 bytes; word * ceil(2**64 / 85**5) is word / 85**5 as a fixed-point fraction
# with 64 fraction bits. Each multiplication by 85 moves the next base-85 digit into the lane's
# top byte, from where it is collected into an accumulator that shifts one byte per digit. The
# multiplier exceeds 2**64 / 85**5 by d = 0.084, so the error (< d * 2**-32) stays below the
# 85**-5 spacing of true fractions (needs d < 2**32 / 85**5 = 0.968): every digit is exact, and
# 85 * 2**64 < 2**72 keeps each lane inside its 72 bits.
_ENC_LANE = 9
_ENC_MULTIPLIER = -(-(1 << 64) // 85**5) * 85  # the first multiplication by 85 folded in
_ENC_FRACTION_MASK = int.from_bytes((b"\x00" + b"\xff" * 8) * _B85_CHUNK_WORDS, "big")
_ENC_DIGIT_MASK = int.from_bytes((b"\xff" + b"\x00" * 8) * _B85_CHUNK_WORDS, "big")

# Decoding: lane = 5 bytes holding the 5 digits; Horner's rule in 40-bit lanes (85**5 < 2**40).
_DEC_LOW_BYTE_MASK = int.from_bytes(b"\x00\x00\x00\x00\xff" * _B85_CHUNK_WORDS, "big")
_DEC_OVERFLOW_MASK = int.from_bytes(b"\xff\x00\x00\x00\x00" * _B85_CHUNK_WORDS, "big")


def _b85encode_words(chunk: bytes) -> bytearray:
    """Base85 digit values of ``chunk`` (length a multiple of 4), five per 32-bit word."""
    words = len(chunk) // 4
    lanes = bytearray(_ENC_LANE * words)
    for k in range(4):
        lanes[_ENC_LANE - 4 + k :: _ENC_LANE] = chunk[k::4]
    value = int.from_bytes(lanes, "big") * _ENC_MULTIPLIER
    digits = value & _ENC_DIGIT_MASK
    for _ in range(4):
        value = (value & _ENC_FRACTION_MASK) * 85
        digits = (digits >> 8) + (value & _ENC_DIGIT_MASK)
    collected = digits.to_bytes(_ENC_LANE * words, "big")  # lane bytes 0..4: digits 4..0
    out = bytearray(5 * words)
    for k in range(5):
        out[k::5] = collected[4 - k :: _ENC_LANE]
    return out


def b85encode(data: bytes) -> bytes:
    """``base64.b85encode(data)``, byte for byte, many times faster."""
    padding = -len(data) % 4
    if padding:
        data = bytes(data) + bytes(padding)
    step = 4 * _B85_CHUNK_WORDS
    out = bytearray()
    for start in range(0, len(data), step):
        out += _b85encode_words(data[start : start + step])
    if padding:
        del out[len(out) - padding :]
    return bytes(out.translate(_B85_DIGIT_TO_CHAR))


def _b85decode_groups(digits: bytes) -> bytes:
    """Bytes of base85 digit values ``digits`` (length a multiple of 5, each value < 85)."""
    lanes = int.from_bytes(digits, "big")
    value = (lanes >> 32) & _DEC_LOW_BYTE_MASK
    for shift in (24, 16, 8, 0):
        value = value * 85 + ((lanes >> shift) & _DEC_LOW_BYTE_MASK)
    if value & _DEC_OVERFLOW_MASK:
        raise ValueError("base85 overflow: a 5-character group exceeds 2**32 - 1")
    out = bytearray(value.to_bytes(len(digits), "big"))
    del out[0::5]
    return bytes(out)


def b85decode(text: str | bytes) -> bytes:
    """``base64.b85decode(text)``, byte for byte, many times faster; ValueError on bad input."""
    if isinstance(text, str):
        try:
            text = text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise ValueError(
                "base85 text contains a non-ASCII character at %d" % exc.start
            ) from None
    padding = -len(text) % 5
    digits = bytes(text).translate(_B85_CHAR_TO_DIGIT) + b"\x54" * padding
    bad = digits.find(b"\xff")
    if bad >= 0:
        raise ValueError("bad base85 character %r at position %d" % (chr(text[bad]), bad))
    step = 5 * _B85_CHUNK_WORDS
    out = b"".join(
        _b85decode_groups(digits[start : start + step]) for start in range(0, len(digits), step)
    )
    return out[: len(out) - padding] if padding else out


def b64encode(data: bytes) -> bytes:
    """Standard base64 without newlines."""
    return binascii.b2a_base64(data, newline=False)


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def b64decode(text: str | bytes) -> bytes:
    """Standard base64; ValueError on any character outside the alphabet."""
    text = _ascii(text, "base64")
    if text.translate(None, _B64_ALPHABET):
        raise ValueError("base64 text contains characters outside the base64 alphabet")
    return binascii.a2b_base64(text)  # binascii.Error (bad padding) is a ValueError


def b16encode(data: bytes) -> bytes:
    """Lower-case hexadecimal: the cheapest encoding for CPython to produce and parse."""
    return binascii.hexlify(data)


def b16decode(text: str | bytes) -> bytes:
    """Hexadecimal (either case); ValueError on anything else, whitespace included."""
    return binascii.unhexlify(text)  # takes ASCII str as it is, ValueError for any other


def _ascii(text: str | bytes, encoding: str) -> bytes:
    """``text`` as ASCII bytes; ValueError naming the encoding when it holds anything else."""
    if isinstance(text, str):
        try:
            return text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise ValueError(
                "%s text contains a non-ASCII character at position %d" % (encoding, exc.start)
            ) from None
    return bytes(text)


# Encoded text never contains '"' or '\\', so it can be put into JSON strings verbatim.
ENCODERS = {"base85": b85encode, "base64": b64encode, "base16": b16encode}
DECODERS = {"base85": b85decode, "base64": b64decode, "base16": b16decode}
