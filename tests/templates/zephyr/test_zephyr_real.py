"""A real Zephyr build and QEMU run: needs a Zephyr tree (ZEPHYR_BASE) with west and a toolchain
(the Zephyr SDK, or Debian's gcc-arm-none-eabi with ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb and
GNUARMEMB_TOOLCHAIN_PATH=/usr); docs/zephyr-template.md says how to get them."""

from __future__ import annotations

import os

import pytest
from host.host_testlib import archive, check_standalone

from projectapi import project

pytestmark = pytest.mark.skipif(
    not os.environ.get("ZEPHYR_BASE"),
    reason="needs Zephyr: set ZEPHYR_BASE to a Zephyr tree (docs/zephyr-template.md)",
)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["qnn_dense_int8_aot_c", "mnist_aot_c"])
def test_qemu_cortex_m3_standalone_matches_reference(name: str, tmp_path) -> None:
    with (
        project.TemplateProject("zephyr") as template,
        template.generate_project(
            archive(name),
            tmp_path / "p",
            {"board": "qemu_cortex_m3", "workspace_size_bytes": 16384},
        ) as generated,
    ):
        generated.build()
        generated.flash()
        check_standalone(generated, name, repeat=2)
