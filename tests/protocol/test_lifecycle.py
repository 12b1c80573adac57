"""Server processes are always reaped: launch/close loops leave no child, thread or fd behind."""

from __future__ import annotations

import os
import pathlib
import shutil
import threading
import time
from collections.abc import Callable

import pytest

from projectapi import client

from .conftest import SERVERS, child_pids


def _settles(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Whether ``condition`` holds within ``timeout`` seconds (threads may still be exiting)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
def test_thousand_launch_close_cycles_leave_nothing_behind(tmp_path: pathlib.Path):
    launcher = tmp_path / "launch_microtvm_api_server.sh"
    shutil.copy(SERVERS / "sh_server.sh", launcher)
    launcher.chmod(0o755)
    children, threads, fds = child_pids(), threading.active_count(), _open_fds()
    for cycle in range(1000):
        api = client.instantiate_from_dir(tmp_path, reply_timeout=10)
        if cycle % 2:  # half the cycles talk first, half close straight away
            assert api.server_info_query("0.14.0")["platform_name"] == "sh"
        api.close()
    assert child_pids() == children
    assert _settles(lambda: threading.active_count() == threads)  # output readers all ended
    assert _settles(lambda: _open_fds() == fds)


def test_python_server_launch_close_cycles(handler_project: pathlib.Path):
    children = child_pids()
    for _ in range(10):
        with client.instantiate_from_dir(handler_project) as api:
            api.server_info_query("0.14.0")
            assert api.server_process.pid in child_pids()
    assert child_pids() == children


def test_close_after_the_server_crashed_still_reaps_it(handler_project: pathlib.Path):
    children = child_pids()
    api = client.instantiate_from_dir(handler_project, echo_output=False)
    with pytest.raises(client.ServerDiedError):
        api.build({"crash": 1})
    api.close()
    assert child_pids() == children


def test_exception_inside_the_context_still_stops_the_server(handler_project: pathlib.Path):
    children = child_pids()
    with pytest.raises(KeyError), client.instantiate_from_dir(handler_project) as api:
        api.server_info_query("0.14.0")
        raise KeyError("user code failed")
    assert child_pids() == children
