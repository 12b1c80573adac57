"""Fixtures for project tests: a template that records its calls (``mlf`` is in tests/)."""

from __future__ import annotations

import json
import pathlib
import shutil
from collections.abc import Callable

import pytest

RECORDING_TEMPLATE = pathlib.Path(__file__).with_name("recording_template.py")


@pytest.fixture
def recorder(tmp_path: pathlib.Path) -> pathlib.Path:
    """A template directory whose server records every call in calls.jsonl."""
    template = tmp_path / "recorder"
    template.mkdir()
    shutil.copy(RECORDING_TEMPLATE, template / "microtvm_api_server.py")
    return template


@pytest.fixture
def recorded() -> Callable[[pathlib.Path, str], list[dict]]:
    """A function giving the params of every recorded call of a method in a recording project."""

    def calls(directory: pathlib.Path, method: str) -> list[dict]:
        log = directory / "calls.jsonl"
        lines = log.read_text().splitlines() if log.exists() else []
        return [call["params"] for call in map(json.loads, lines) if call["method"] == method]

    return calls
