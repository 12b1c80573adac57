"""Tensor types from the signature of ``@main`` in an MLF's informative Relay text.

``src/<M>.relay`` is for people, not machines (docs/mlf.md), but for the C
interface it is the only place TVM records tensor shapes; it is used only as a last resort.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

_COMMENT_RE = re.compile(r"/\*.*?\*/", re.DOTALL)
_PARAM_RE = re.compile(r"%([\w.:]+)\s*:\s*Tensor\[\(([^)]*)\),\s*(\w+)\]")
_DIM_RE = re.compile(r"(\d+)(?:i64|i32)?")
_TENSOR_RE = re.compile(r"Tensor\[\(([^)]*)\),\s*(\w+)\]")

TensorType = Tuple[Optional[Tuple[int, ...]], str]


def main_signature(text: str) -> Tuple[Dict[str, TensorType], List[TensorType]]:
    """Parameter name -> (shape, dtype), and the return tensors' types, of ``def @main``.

    A shape with a non-numeric dimension (``?``, ``Any``) is None. Missing annotations give
    empty results.
    """
    start = text.find("def @main(")
    if start < 0:
        return {}, []
    body = text.find("{", start)
    header = _COMMENT_RE.sub(" ", text[start : body if body >= 0 else len(text)])
    params_part, _, result_part = header.partition("->")
    params = {name: (_dims(dims), dtype) for name, dims, dtype in _PARAM_RE.findall(params_part)}
    results = [(_dims(dims), dtype) for dims, dtype in _TENSOR_RE.findall(result_part)]
    return params, results


def _dims(text: str) -> Optional[Tuple[int, ...]]:
    """``1, 28, 28`` -> (1, 28, 28); ``32`` -> (32,); empty -> (); None if not all integers."""
    items = [_DIM_RE.fullmatch(item.strip()) for item in text.split(",") if item.strip()]
    if not all(items):
        return None
    return tuple(int(item.group(1)) for item in items)
