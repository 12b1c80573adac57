"""Every runtime dependency declared in pyproject.toml is imported by the package."""

from __future__ import annotations

import pathlib
import re

_ROOT = pathlib.Path(__file__).resolve().parents[2]
# Distributions whose import name differs from their name on PyPI.
_IMPORT_NAMES = {"pyserial": "serial", "pyocd": "pyocd", "filelock": "filelock"}


def test_every_declared_dependency_is_imported() -> None:
    # The [project] dependencies array (tomllib is not in Python 3.10's standard library).
    array = re.search(
        r"^dependencies = \[(.*?)\]", (_ROOT / "pyproject.toml").read_text(), re.M | re.S
    )
    declared = re.findall(r'"([^"]+)"', array.group(1))
    sources = "\n".join(path.read_text() for path in (_ROOT / "src").rglob("*.py"))
    for requirement in declared:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group().lower()
        module = _IMPORT_NAMES.get(name, name.replace("-", "_"))
        assert re.search(rf"^\s*(import|from) {module}\b", sources, re.M), (
            f"{name} is declared in pyproject.toml but imported nowhere in src/"
        )
