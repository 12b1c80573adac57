"""On a real board (skipped without one): the int8 model, flashed through the board's probe,
runs host-driven over the board's serial port and matches the reference.

Set PROJECTAPI_BOARD to a board of the boards template (e.g. nucleo-f401re) and plug it in;
PROJECTAPI_BOARD_PORT names its serial port (default: found by the board's USB ID),
PROJECTAPI_BOARD_RUNNER the flash tool (pyocd, the default, or openocd)."""

from __future__ import annotations

import os

import pytest
from host.host_testlib import archive, assert_matches, reference

import projectapi
from projectapi.project import TemplateProject

BOARD = os.environ.get("PROJECTAPI_BOARD")
QNN = "qnn_dense_int8_aot_c"

pytestmark = pytest.mark.skipif(
    not BOARD, reason="needs a real board: set PROJECTAPI_BOARD (and PROJECTAPI_BOARD_PORT)"
)


@pytest.mark.slow
def test_int8_model_on_the_board(tmp_path) -> None:
    options = {"board": BOARD, "project_type": "host_driven",
               "runner": os.environ.get("PROJECTAPI_BOARD_RUNNER", "pyocd")}
    if os.environ.get("PROJECTAPI_BOARD_PORT"):
        options["port"] = os.environ["PROJECTAPI_BOARD_PORT"]
    x, want = reference(QNN)
    with TemplateProject("boards") as template:
        project = template.generate_project(archive(QNN), tmp_path / "project", options)
    with project:
        project.build()
        project.flash()
        with projectapi.Session(project.transport()) as session:
            executor = session.create_aot_executor()
            executor.set_input(0, x)
            executor.run()
            assert_matches(executor.get_output(0), want)
