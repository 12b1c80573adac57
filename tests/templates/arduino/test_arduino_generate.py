"""The Arduino template's generated sketch folders, option by option, and its serial transport."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from host.host_testlib import archive

from projectapi import conformance, project

from .arduino_testlib import TEMPLATE_DIR

BOARDS = json.loads((TEMPLATE_DIR / "boards.json").read_text())
# The FQBNs arduino-cli builds for: Nano 33 BLE, Portenta H7, Due, Pico, Teensy 4.x, Mega.
REQUIRED_FQBNS = {
    "arduino:mbed_nano:nano33ble",
    "arduino:mbed_portenta:envie_m7",
    "arduino:sam:arduino_due_x",
    "arduino:mbed_rp2040:pico",
    "teensy:avr:teensy40",
    "teensy:avr:teensy41",
    "arduino:avr:mega",
}


def generate(tmp_path, name: str, **options) -> project.GeneratedProject:
    with project.TemplateProject("arduino") as template:
        return template.generate_project(archive(name), tmp_path / "p", options)


def test_boards_table_names_the_fqbns() -> None:
    assert {board["fqbn"] for board in BOARDS.values()} == REQUIRED_FQBNS
    for board in BOARDS.values():
        assert board["workspace_size_bytes"] < board["ram_bytes"] <= board["flash_bytes"] * 4


@pytest.mark.parametrize(
    ("project_type", "serve", "loop", "components"),
    [
        (
            "aot_standalone",
            "projectapi_standalone_serve",
            "standalone_loop.c",
            {"common", "memory"},
        ),
        (
            "host_driven",
            "projectapi_host_driven_serve",
            "host_driven_loop.c",
            {
                "common",
                "memory",
                "microtvm_rpc_server",
                "microtvm_rpc_common",
                "aot_executor_module",
                "aot_executor",
            },
        ),
    ],
)
def test_sketch_per_project_type(tmp_path, project_type, serve, loop, components) -> None:
    with generate(tmp_path, "mnist_aot_c", board="due", project_type=project_type) as generated:
        assert generated.info.platform_name == "arduino"
    sketch = tmp_path / "p" / "project"
    src = sketch / "src"
    assert (sketch / "project.ino").is_file() and (tmp_path / "p" / "model.tar").is_file()
    header = (src / "projectapi_sketch.h").read_text()
    assert f"#define PROJECTAPI_SERVE {serve}" in header
    assert "#define PROJECTAPI_BAUD_RATE 115200" in header
    assert (src / loop).is_file()
    assert {p.name for p in (src / "runtime" / "src").iterdir()} == components
    # One include directory: every runtime header sits under src/ itself.
    assert (src / "tvm" / "runtime" / "c_runtime_api.h").is_file()
    assert (src / "dlpack" / "dlpack.h").is_file() and (src / "tvmgen_default.h").is_file()
    assert not (src / "runtime" / "include").exists()
    assert not list((src / "runtime").glob("CMakeLists.txt"))


def test_graph_model_adds_the_graph_executor(tmp_path) -> None:
    generate(tmp_path, "mnist_graph", board="portenta_h7").close()
    src = tmp_path / "p" / "project" / "src"
    assert (src / "runtime" / "src" / "graph_executor").is_dir()
    assert "TVMGraphExecutor_Create" in (src / "graph_model.c").read_text()


@pytest.mark.parametrize(
    ("options", "workspace", "baud"),
    [
        ({"board": "mega2560"}, BOARDS["mega2560"]["workspace_size_bytes"], 115200),
        ({"board": "teensy41"}, BOARDS["teensy41"]["workspace_size_bytes"], 115200),
        ({"board": "pico", "workspace_size_bytes": 4096, "baud_rate": 9600}, 4096, 9600),
    ],
)
def test_workspace_and_baud_options(tmp_path, options, workspace, baud) -> None:
    generate(tmp_path, "qnn_dense_int8_aot_c", **options).close()
    src = tmp_path / "p" / "project" / "src"
    assert f"#define TVM_WORKSPACE_SIZE_BYTES {workspace}" in (src / "crt_config.h").read_text()
    assert f"#define PROJECTAPI_BAUD_RATE {baud}" in (src / "projectapi_sketch.h").read_text()
    settings = json.loads((tmp_path / "p" / "project.json").read_text())
    assert settings["workspace_size_bytes"] == workspace


def test_build_without_arduino_cli_names_it(tmp_path) -> None:
    with (
        generate(tmp_path, "mnist_aot_c", board="nano33ble") as generated,
        pytest.raises(project.ProjectAPIError, match="arduino-cli is not installed"),
    ):
        generated.build({"arduino_cli_cmd": "no-such-arduino-cli"})


def test_transport_needs_a_port(tmp_path) -> None:
    with (
        generate(tmp_path, "mnist_aot_c", board="due") as generated,
        pytest.raises(project.ProjectAPIError, match="port="),
    ):
        generated.transport().open()


def test_serial_transport_over_a_pty(tmp_path) -> None:
    """The serial transport on a real tty (a pseudo-terminal standing in for the board)."""
    master, slave = os.openpty()
    try:
        with (
            generate(tmp_path, "mnist_aot_c", board="due") as generated,
            generated.transport({"port": os.ttyname(slave)}) as transport,
        ):
            transport.write(b"PAR1", 5.0)
            assert os.read(master, 4) == b"PAR1"
            os.write(master, b"PAO1")
            got = b""
            while len(got) < 4:
                got += transport.read(4 - len(got), 5.0)
            assert got == b"PAO1"
        results = conformance.run_checks(tmp_path / "p", [f"port={os.ttyname(slave)}"])
        assert [r for r in results if r.status == "fail"] == []
    finally:
        os.close(master)
        os.close(slave)


def test_library_name_and_board_go_into_library_properties(tmp_path) -> None:
    with project.TemplateProject("arduino") as template:
        out = template.generate_library(
            archive("mnist_aot_c"),
            tmp_path / "lib",
            {"board": "teensy41", "library_name": "digits"},
        )
    properties = (out / "library.properties").read_text()
    assert "name=digits\n" in properties and "architectures=avr\n" in properties
    assert "includes=digits.h\n" in properties
    assert "int32_t digits_run(" in (out / "src" / "digits.h").read_text()


@pytest.mark.parametrize("project_type", ["aot_standalone", "host_driven"])
def test_sketch_c_sources_compile_with_one_include_dir(tmp_path, project_type: str) -> None:
    """Every C source of a Cortex-M sketch compiles with src/ as the only include directory
    (what Arduino's builders give a sketch's and a library's sources); the C++ files need the
    Arduino core and are left to arduino-cli."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc is not installed: run scripts/install-deps.sh")
    generate(tmp_path, "mnist_graph", board="due", project_type=project_type).close()
    src = tmp_path / "p" / "project" / "src"
    for source in sorted(src.rglob("*.c")):
        subprocess.run(
            [
                "arm-none-eabi-gcc",
                "-mcpu=cortex-m3",
                "-mthumb",
                "--specs=picolibc.specs",
                "-std=gnu11",
                "-Wall",
                f"-I{src}",
                "-c",
                str(source),
                "-o",
                str(tmp_path / "x.o"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
