"""Mistakes a user can make with the farm commands, each one clear line (no cluster needed:
nothing listens at the address, or the mistake is found before anything starts)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from projectapi.farm import FarmError
from projectapi.farm.connection import import_ray, split_address

NOBODY = "127.0.0.1:9"  # loopback, a port nothing listens on


def _projectapi(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "projectapi", *args], capture_output=True, text=True, timeout=120
    )


def test_unreachable_farm() -> None:
    done = _projectapi("farm", "status", NOBODY, "--json")
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "FarmError"
    assert error["message"].startswith(f"cannot reach the farm at {NOBODY} (Connection refused)")


def test_measure_with_an_unreachable_farm(tmp_path: pathlib.Path) -> None:
    from tune import candidates as make

    archive = make.good(tmp_path / "a.tar")
    done = _projectapi("measure", str(archive), "--template", "host", "-o",
                       "project_type=aot_standalone", "--db", str(tmp_path / "r.db"),
                       "--farm", NOBODY)  # fmt: skip
    assert done.returncode == 1
    assert f"error: cannot reach the farm at {NOBODY}" in done.stderr


def test_a_bad_inventory_is_refused_before_joining(tmp_path: pathlib.Path) -> None:
    inventory = tmp_path / "boards.toml"
    inventory.write_text('[[board]]\nname = "x"\ntemplate = "qemu"\ncount = "two"\n')
    done = _projectapi("farm", "join", NOBODY, "--inventory", str(inventory))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: {inventory}: board 'x': key 'count' must be a whole number 1..64, got 'two'"
    )


@pytest.mark.parametrize("address", ["6379", "host:", ":6379", "h:99999", "h:port"])
def test_an_address_must_be_host_and_port(address: str) -> None:
    with pytest.raises(FarmError, match="is not HOST:PORT"):
        split_address(address)


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as if not installed
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # import_ray sets it; restored afterwards
    with pytest.raises(
        FarmError, match=r"needs Ray, which is not installed: pip install 'projectapi\[farm\]'"
    ):
        import_ray()
