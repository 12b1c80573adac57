"""One JSON value per line, fast: the framing of Project API requests and replies.

The per-message cost of json.dumps/json.loads is mostly wrapper code around the C encoder and
scanner; these skip it for the values every call carries (ids, null results, flat lines).
"""

from __future__ import annotations

import json
import json.encoder
import json.scanner

encode_compact = json.JSONEncoder(separators=(",", ":")).encode
_encode_string = json.encoder.encode_basestring_ascii
_scan_value = json.scanner.make_scanner(json.JSONDecoder())


def dumps_compact(value: object) -> str:
    """``value`` as compact JSON text."""
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return _encode_string(value)
    return encode_compact(value)


def loads_line(line: bytes | bytearray | str) -> object:
    """The JSON value on one line (surrounding whitespace allowed); ValueError if there is none."""
    text = line if isinstance(line, str) else line.decode("utf-8")
    try:
        value, end = _scan_value(text, 0)
    except StopIteration:  # not a value at position 0: let json.loads explain (or skip spaces)
        return json.loads(text)
    if text[end:].strip(" \t\r\n"):
        return json.loads(text)  # raises "Extra data" with the position
    return value


_DATA_KEY = b'"data":"'


def loads_line_with_data(line: bytes | bytearray, container: str) -> object:
    """``loads_line`` for a line whose ``[container]["data"]`` holds encoded transport bytes.

    JSON-scanning a long string costs more than decoding it, so when that string has no escapes
    it is cut out before parsing and put back as ``bytes``; any other line is parsed as usual.
    """
    start = line.find(_DATA_KEY)
    if start >= 0:
        start += len(_DATA_KEY)
        end = line.find(b'"', start)
        if end >= 0 and line.find(b"\\", start, end) < 0:
            value = loads_line(line[:start] + line[end:])
            inner = value.get(container) if isinstance(value, dict) else None
            if isinstance(inner, dict) and inner.get("data") == "":  # it was that very string
                inner["data"] = bytes(line[start:end])
                return value
    return loads_line(line)
