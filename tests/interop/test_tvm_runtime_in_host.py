"""Our host template built host-driven against a runtime in TVM's standalone layout with C++."""

from __future__ import annotations

import json
import pathlib

import pytest
from support.data import MLF_DIR

from projectapi.project import TemplateProject

from .interop_testlib import tvm_layout_runtime

_ARCHIVE = "mnist_aot_c"


@pytest.mark.slow
@pytest.mark.parametrize("marker", [False, True], ids=["tvm-tree", "exported"])
def test_host_driven_builds_and_runs_on_a_tvm_layout_runtime_with_cxx(
    tmp_path: pathlib.Path, marker: bool
):
    import numpy as np

    from projectapi import micro

    runtime = tvm_layout_runtime(tmp_path / "standalone_crt", marker=marker)
    project_dir = tmp_path / "project"
    with TemplateProject("host") as template:
        project = template.generate_project(
            MLF_DIR / f"{_ARCHIVE}.tar",
            project_dir,
            {"project_type": "host_driven", "warning_as_error": True},
            standalone_crt_dir=runtime,
        )
    record = json.loads((project_dir / "runtime.json").read_text())
    assert record["runtime"] == ("projectapi" if marker else "tvm")
    assert record["layout"] == "tvm"
    assert record["source"] == str(runtime)
    assert record["sources"]["cxx"] == 1
    x = np.load(MLF_DIR / f"{_ARCHIVE}.input.npy")
    want = np.load(MLF_DIR / f"{_ARCHIVE}.output.npy")
    with project:
        project.build()  # -Werror: the C++ source compiles cleanly with the template's flags
        with micro.Session(project.transport()) as session:  # framing runs on the C++ CRC
            executor = session.create_aot_executor("default")
            executor.set_input(0, x)
            executor.run()
            np.testing.assert_allclose(
                executor.get_output(0).reshape(want.shape), want, rtol=1e-5, atol=1e-6
            )
    objects = list((project_dir / "build").rglob("crc16.cc.o"))
    assert len(objects) == 1
