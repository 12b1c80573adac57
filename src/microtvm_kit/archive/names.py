"""Tensor names from an archive are user input: which are plain, and safe file names for them.

A name in ``metadata.json`` may be anything (``/tmp/x``, ``../../x``); it must never become a
path. ``safe_file_stem`` maps any name to a file name stem that stays in its directory, and
``file_stems`` does so for a list, keeping the stems distinct.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable

# Letters, digits, '_' first; then also '.', ':' and '-' (TFLite-style "serving_default_x:0").
_PLAIN_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,127}")
_UNSAFE_FILE_CHARS_RE = re.compile(r"[^A-Za-z0-9_.\-]")
_MAX_STEM_CHARS = 64


def is_plain_name(name: str) -> bool:
    """True for a tensor name that is safe anywhere: no separators, no '..', short, printable."""
    return bool(_PLAIN_NAME_RE.fullmatch(name)) and ".." not in name


def safe_file_stem(name: str) -> str:
    """A file name stem for tensor ``name``: only ``[A-Za-z0-9_.-]``, never hidden or empty.

    Every other character becomes ``_``, leading dots and dashes are dropped (so ``..`` and
    option-like names cannot result) and the stem is cut to 64 characters.
    """
    stem = _UNSAFE_FILE_CHARS_RE.sub("_", name).lstrip(".-")[:_MAX_STEM_CHARS]
    return stem or "tensor"


def file_stems(names: Iterable[str]) -> Dict[str, str]:
    """Tensor name -> distinct safe file stem (``_2``, ``_3``... added on a clash)."""
    stems: Dict[str, str] = {}
    used = set()
    for name in names:
        stem = base = safe_file_stem(name)
        suffix = 2
        while stem.lower() in used:  # distinct on case-insensitive file systems too
            stem = f"{base}_{suffix}"
            suffix += 1
        used.add(stem.lower())
        stems[name] = stem
    return stems
