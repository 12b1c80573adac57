"""The AVR leg: generated code built with Debian's avr-gcc and Arduino core for an ATmega2560
(Arduino Mega 2560), checked against the chip's limits, and run on simavr."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
from host.host_testlib import archive, assert_matches, check_standalone, reference
from library.library_testlib import write_reference_input

from projectapi import conformance, project, server

from .arduino_testlib import TEMPLATE_DIR, require_avr_tools, template_modules

avr_build, sketch_layout = template_modules()
BOARDS = json.loads((TEMPLATE_DIR / "boards.json").read_text())
MEGA = BOARDS["mega2560"]
USER_SKETCH = TEMPLATE_DIR.parents[3] / "tests" / "templates" / "arduino" / "user_sketch"
NAME = "qnn_dense_int8_aot_c"  # the int8 archive: an 8-bit MCU's model
_REPLY = re.compile(r"OUT1 (-?\d+) ([0-9A-F]*)")


@pytest.fixture(scope="module")
def int8_library(tmp_path_factory):
    """The int8 archive as an Arduino library for the Mega 2560, generated once."""
    with project.TemplateProject("arduino") as template:
        return template.generate_library(
            archive(NAME), tmp_path_factory.mktemp("avr") / "tvm_model", {"board": "mega2560"}
        )


def test_library_folder_is_an_arduino_library(int8_library) -> None:
    properties = dict(
        line.split("=", 1)
        for line in (int8_library / "library.properties").read_text().splitlines()
    )
    assert properties["name"] == "tvm_model"
    assert properties["architectures"] == "avr"
    assert properties["includes"] == "tvm_model.h"
    src = int8_library / "src"
    assert (src / "tvm_model.h").is_file() and (src / "crt_config.h").is_file()
    assert (src / "tvm" / "runtime" / "crt" / "platform.h").is_file()
    # Only the components an AOT library needs are compiled by Arduino's builder.
    components = {p.name for p in (src / "runtime" / "src").iterdir()}
    assert components == {"common", "memory"}


@pytest.mark.slow
def test_int8_model_runs_on_simavr(int8_library, tmp_path) -> None:
    require_avr_tools()
    inputs = write_reference_input(NAME, tmp_path / "in")
    image = avr_build.build(
        [USER_SKETCH / "user_sketch.ino", *sketch_layout.c_sources(int8_library / "src")],
        [int8_library / "src", inputs],
        MEGA["avr"],
        tmp_path / "build",
    )
    use = avr_build.memory_use(image)
    report = avr_build.check_fits(use, MEGA["flash_bytes"], MEGA["ram_bytes"], "mega2560")
    print(report)
    run = subprocess.run(
        ["simavr", "-m", MEGA["avr"]["mcu"], "-f", str(MEGA["avr"]["f_cpu"]), str(image)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    match = _REPLY.search(run.stdout + run.stderr)
    assert match, run.stdout[-500:]
    assert int(match.group(1)) == 0
    _, want = reference(NAME)
    got = np.frombuffer(bytes.fromhex(match.group(2)), dtype=want.dtype)
    assert_matches(got, want)


@pytest.mark.slow
def test_generated_sketch_builds_for_the_mega(tmp_path) -> None:
    require_avr_tools()
    with (
        project.TemplateProject("arduino") as template,
        template.generate_project(
            archive(NAME), tmp_path / "p", {"board": "mega2560"}
        ) as generated,
    ):
        generated.build({"arduino_cli_cmd": "no-such-arduino-cli"})
    use = json.loads((tmp_path / "p" / "memory_report.json").read_text())
    assert 0 < use["flash_bytes"] <= MEGA["flash_bytes"]
    assert 0 < use["ram_bytes"] <= MEGA["ram_bytes"]


def test_host_driven_is_refused_on_avr(tmp_path) -> None:
    with (
        project.TemplateProject("arduino") as template,
        pytest.raises(server.UnsupportedProjectTypeError, match="aot_standalone on mega2560"),
    ):
        template.generate_project(
            archive(NAME), tmp_path / "p", {"board": "mega2560", "project_type": "host_driven"}
        )
    assert not (tmp_path / "p").exists()


@pytest.mark.slow
def test_standalone_sketch_on_simavr_matches_reference(tmp_path) -> None:
    """The generated aot_standalone sketch, built for the ATmega2560, answers the standalone
    link protocol over its UART (bridged to the transport by simavr_bridge)."""
    require_avr_tools()
    with (
        project.TemplateProject("arduino") as template,
        template.generate_project(
            archive(NAME), tmp_path / "p", {"board": "mega2560"}
        ) as generated,
    ):
        generated.build({"arduino_cli_cmd": "no-such-arduino-cli"})
        result = check_standalone(generated, NAME, repeat=2)
    # simavr's time is the emulated 16 MHz clock: the int8 dense layer takes milliseconds.
    assert 1e-4 < result.fastest_seconds < 1.0
    results = conformance.run_checks(tmp_path / "p")
    assert [r for r in results if r.status == "fail"] == []
    assert any(r.name == "transport round trip" and r.status == "pass" for r in results)
