"""Our host and QEMU templates built host-driven against a runtime in TVM's standalone layout
whose framing CRC is C++ (as TVM's RPC server is), and run end to end."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from support.data import MLF_DIR

from projectapi import micro
from projectapi.project import TemplateProject

from .interop_testlib import tvm_layout_runtime

_ARCHIVE = "mnist_aot_c"


def _generate_and_run(
    template: str, runtime: pathlib.Path, project_dir: pathlib.Path, options: dict
) -> dict:
    """Generate (warnings are errors), build, run the archive's reference input over a session;
    return the project's runtime record."""
    settings = {"project_type": "host_driven", "warning_as_error": True, **options}
    with TemplateProject(template) as project:
        generated = project.generate_project(
            MLF_DIR / f"{_ARCHIVE}.tar", project_dir, settings, standalone_crt_dir=runtime
        )
    x = np.load(MLF_DIR / f"{_ARCHIVE}.input.npy")
    want = np.load(MLF_DIR / f"{_ARCHIVE}.output.npy")
    with generated:
        generated.build()
        with micro.Session(generated.transport()) as session:  # framing runs on the C++ CRC
            executor = session.create_aot_executor("default")
            executor.set_input(0, x)
            executor.run()
            got = executor.get_output(0)
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-6)
    assert len(list((project_dir / "build").rglob("crc16.cc.o*"))) == 1
    return json.loads((project_dir / "runtime.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("marker", [False, True], ids=["tvm-tree", "exported"])
def test_host_template(tmp_path: pathlib.Path, marker: bool):
    runtime = tvm_layout_runtime(tmp_path / "standalone_crt", marker=marker)
    record = _generate_and_run("host", runtime, tmp_path / "project", {})
    assert record == {
        "runtime": "projectapi" if marker else "tvm",
        "layout": "tvm",
        "source": str(runtime),
        "sources": {"c": record["sources"]["c"], "cxx": 1},
    }
    assert record["sources"]["c"] > 10


@pytest.mark.slow
@pytest.mark.parametrize("board", ["mps2-an385", "virt-rv32"])
def test_qemu_template(tmp_path: pathlib.Path, board: str):
    """Bare metal: C++ compiled by the cross g++, linked without a C++ library."""
    runtime = tvm_layout_runtime(tmp_path / "standalone_crt", marker=False)
    record = _generate_and_run("qemu", runtime, tmp_path / "project", {"board": board})
    assert (record["runtime"], record["sources"]["cxx"]) == ("tvm", 1)
