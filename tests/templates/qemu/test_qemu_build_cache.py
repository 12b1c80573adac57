"""Build once, link many on a QEMU board: the second firmware compiles only its model."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from host.host_testlib import archive, check_standalone

from .qemu_testlib import generate

BOARD = "mps2-an385"
NAME = "qnn_dense_int8_aot_c"


def _generate_logged(tmp_path, name: str) -> tuple[object, str]:
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        project = generate(archive(NAME), tmp_path / name, BOARD, "aot_standalone")
    return project, log.getvalue()


@pytest.mark.slow
def test_second_firmware_for_a_board_takes_runtime_and_kit_from_the_cache(tmp_path) -> None:
    first, _ = _generate_logged(tmp_path, "first")
    first.close()
    second, second_log = _generate_logged(tmp_path, "second")
    with second:
        for part in ("runtime", "firmware_kit"):
            assert f"prebuilt/{part} " in second_log, second_log
        assert "CMakeFiles/projectapi_kit.dir/" not in second_log
        check_standalone(second, NAME, repeat=2)
    report = json.loads((tmp_path / "second" / "memory_report.json").read_text())
    assert report["flash_by_category"]["runtime"] > 0  # the cached libraries are still named
    first_report = json.loads((tmp_path / "first" / "memory_report.json").read_text())
    # The same code is linked: every category's size is the same. Only the link order of the
    # objects differs (prebuilt ones are listed first), which may move alignment padding.
    assert report["flash_by_category"] == first_report["flash_by_category"]
    assert report["ram_used"] == first_report["ram_used"]
    assert abs(report["text"] - first_report["text"]) <= 64
