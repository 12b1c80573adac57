"""A machine's board inventory: the TOML file ``farm join --inventory`` reads.

Each ``[[board]]`` table names one board (or ``count`` identical ones), the template that drives
it, the template options that describe it (``board``, ``port``, ``serial_number``...) and free
labels a job can ask for::

    [[board]]
    name = "an386"
    template = "qemu"
    count = 2
    labels = ["emulated"]
    [board.options]
    board = "mps2-an386"

Validation is strict: unknown keys, wrong types and duplicate names are refused with a message
naming the file, the board and the key.
"""

from __future__ import annotations

import pathlib
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from projectapi.farm.errors import InventoryError

if sys.version_info >= (3, 11):
    import tomllib
else:  # the farm extra installs the backport
    import tomli as tomllib

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEYS = {"name", "template", "count", "labels", "options"}
_OPTION_TYPES = (str, int, float, bool)


@dataclass(frozen=True)
class BoardSpec:
    """One board as the inventory describes it (``count`` of them share the description)."""

    name: str
    template: str
    options: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    count: int = 1

    @property
    def kind(self) -> str:
        """What the board is: its ``board`` option, else the template's name."""
        return str(self.options.get("board") or pathlib.PurePath(self.template).name)

    def unit_names(self) -> list[str]:
        """One name per physical board: ``name`` alone, or ``name#0``, ``name#1``... for many."""
        return [self.name] if self.count == 1 else [f"{self.name}#{i}" for i in range(self.count)]


def resource_name(kind: str) -> str:
    """The Ray custom resource a node holding a board of ``kind`` advertises."""
    return f"board:{kind}"


def load_inventory(path: str | pathlib.Path) -> list[BoardSpec]:
    """Read and check the inventory at ``path``."""
    path = pathlib.Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InventoryError(f"{path}: cannot read the inventory ({error.strerror})") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InventoryError(f"{path}: not valid TOML ({error})") from error
    return parse_inventory(data, str(path))


def parse_inventory(data: dict[str, Any], where: str) -> list[BoardSpec]:
    """Check parsed TOML (``where`` names its file in messages) and return its boards."""
    extra = sorted(set(data) - {"board"})
    if extra:
        raise InventoryError(f"{where}: unknown top-level key {extra[0]!r}; use [[board]] tables")
    tables = data.get("board")
    if not isinstance(tables, list) or not tables:
        raise InventoryError(f"{where}: no boards; add at least one [[board]] table")
    boards: list[BoardSpec] = []
    for index, table in enumerate(tables):
        board = _board(table, f"{where}: board {index + 1}")
        if any(b.name == board.name for b in boards):
            raise InventoryError(f"{where}: board name {board.name!r} is used twice")
        boards.append(board)
    return boards


def _board(table: Any, where: str) -> BoardSpec:
    if not isinstance(table, dict):
        raise InventoryError(f"{where}: must be a table")
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InventoryError(
            f"{where}: key 'name' must be 1-64 letters, digits, '.', '_' or '-', got {name!r}"
        )
    where = f"{where.rsplit(': ', 1)[0]}: board {name!r}"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise InventoryError(f"{where}: unknown key {unknown[0]!r} (known: {sorted(_KEYS)})")
    template = table.get("template")
    if not isinstance(template, str) or not template:
        raise InventoryError(f"{where}: key 'template' must name a template, e.g. \"qemu\"")
    count = table.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 64:
        raise InventoryError(f"{where}: key 'count' must be a whole number 1..64, got {count!r}")
    labels = table.get("labels", [])
    if not isinstance(labels, list) or not all(
        isinstance(label, str) and _NAME.match(label) for label in labels
    ):
        raise InventoryError(f"{where}: key 'labels' must be a list of plain words")
    options = table.get("options", {})
    if not isinstance(options, dict):
        raise InventoryError(f"{where}: key 'options' must be a table ([board.options])")
    for key, value in options.items():
        if not isinstance(value, _OPTION_TYPES):
            raise InventoryError(
                f"{where}: option {key!r} must be a string, number or boolean, got {value!r}"
            )
    return BoardSpec(name, template, dict(options), tuple(labels), count)
