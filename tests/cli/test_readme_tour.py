"""README.md's tour, run as written: its shell block, then its Python block, in a temp dir."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

_ROOT = pathlib.Path(__file__).resolve().parents[2]
_README = (_ROOT / "README.md").read_text()
_ACTIVATE = ". .venv/bin/activate"


def _block(language: str) -> str:
    """The first ``language`` code block of README's tour."""
    tour = _README[_README.index("## A tour") :]
    return re.search(rf"```{language}\n(.*?)```", tour, re.S).group(1)


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path) -> None:
    shell = _block("sh")
    assert shell.startswith(_ACTIVATE + "\n")
    # The interpreter running the tests stands for the activated .venv of the repository.
    env = {**os.environ, "PATH": f"{pathlib.Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-e", "-c", shell.replace(_ACTIVATE, "true", 1)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert ", 0 failed," in done.stdout  # check
    assert "top 3:" in done.stdout
    done = subprocess.run(
        ["projectapi", "build", "proj", "--json"],
        cwd=tmp_path / "tour",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    memory = json.loads(done.stdout)["result"]["memory"]
    assert memory["text"] > 0 and set(memory) == {"text", "data", "bss"}
    done = subprocess.run(
        [sys.executable, "-c", _block("python")],
        cwd=tmp_path / "tour",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    memory, matches = done.stdout.splitlines()[:2]
    assert "'text'" in memory and "'bss'" in memory
    assert matches == "True"
