"""The Zephyr template's generated applications and modules, checked without Zephyr: files,
Kconfig and a dry CMake configure against a stub Zephyr package (stub_zephyr/), plus a compile of
every source that does not need Zephyr's own headers with the Cortex-M cross compiler."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

import pytest
from host.host_testlib import archive

from projectapi import project, server

HERE = pathlib.Path(__file__).resolve().parent
STUB = HERE / "stub_zephyr"
TEMPLATE_DIR = project.TEMPLATES_DIR / "zephyr"
BOARDS = json.loads((TEMPLATE_DIR / "boards.json").read_text())


def generate(tmp_path, name: str = "mnist_aot_c", **options) -> pathlib.Path:
    with project.TemplateProject("zephyr") as template:
        template.generate_project(archive(name), tmp_path / "p", options).close()
    return tmp_path / "p"


def dry_configure(app: pathlib.Path, board: str, build: pathlib.Path) -> dict[str, list[str]]:
    """Configure the application against the stub Zephyr; what it gave the ``app`` target."""
    env = dict(os.environ, ZEPHYR_BASE=str(STUB))
    subprocess.run(
        ["cmake", "-S", str(app), "-B", str(build), f"-DBOARD={board}"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    report = {}
    for line in (build / "stub_app.txt").read_text().splitlines():
        key, _, value = line.partition("=")
        report[key] = value.split(";") if key != "board" else [value]
    return report


def prj_conf(app: pathlib.Path) -> dict[str, str]:
    lines = (app / "prj.conf").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.mark.parametrize(
    ("project_type", "loop", "rpc"),
    [("aot_standalone", "standalone_loop.c", False), ("host_driven", "host_driven_loop.c", True)],
)
def test_application_configures_for_each_project_type(tmp_path, project_type, loop, rpc) -> None:
    app = generate(tmp_path, board="qemu_cortex_m3", project_type=project_type)
    report = dry_configure(app, "qemu_cortex_m3", tmp_path / "build")
    sources = [pathlib.Path(s) for s in report["sources"]]
    assert all(s.is_file() for s in sources), [s for s in sources if not s.is_file()]
    names = {s.name for s in sources}
    assert {"main.c", loop} <= names
    assert ("model_glue.c" in names) == (not rpc)
    assert any("microtvm_rpc_server" in str(s) for s in sources) == rpc
    assert (app / "c" / loop).is_file()
    serve = "projectapi_host_driven_serve" if rpc else "projectapi_standalone_serve"
    assert f"PROJECTAPI_SERVE={serve}" in report["definitions"]
    assert all(pathlib.Path(d).is_dir() for d in report["include_dirs"])
    assert (app / "qemu_transport.py").is_file()


@pytest.mark.parametrize(
    ("name", "project_type"),
    [("qnn_dense_int8_aot_c", "aot_standalone"), ("mnist_graph", "host_driven")],
)
def test_sources_compile_for_cortex_m3(tmp_path, name: str, project_type: str) -> None:
    """Everything but main.c (which needs Zephyr's headers) compiles with the include dirs the
    application declares: the generated tree is complete."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc is not installed: run scripts/install-deps.sh")
    app = generate(tmp_path, name, board="qemu_cortex_m3", project_type=project_type)
    report = dry_configure(app, "qemu_cortex_m3", tmp_path / "build")
    flags = [
        "-mcpu=cortex-m3",
        "-mthumb",
        "--specs=picolibc.specs",
        "-std=gnu99",
        "-Wall",
        *(f"-I{d}" for d in report["include_dirs"]),
        *(f"-D{d}" for d in report["definitions"]),
    ]
    for source in report["sources"]:
        if source.endswith("src/main.c"):
            continue
        subprocess.run(
            ["arm-none-eabi-gcc", *flags, "-c", source, "-o", str(tmp_path / "x.o")],
            check=True,
            capture_output=True,
            text=True,
        )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"board": "qemu_x86"}, {"CONFIG_MAIN_STACK_SIZE": "4096"}),
        (
            {"board": "nucleo_f746zg", "config_main_stack_size": 8192},
            {"CONFIG_MAIN_STACK_SIZE": "8192", "CONFIG_FPU": "y"},
        ),
        (
            {"board": "mps2_an521", "warning_as_error": True},
            {"CONFIG_COMPILER_WARNINGS_AS_ERRORS": "y"},
        ),
    ],
)
def test_prj_conf_per_option(tmp_path, options, expected) -> None:
    conf = prj_conf(generate(tmp_path, **options))
    for key in (
        "CONFIG_SERIAL",
        "CONFIG_UART_INTERRUPT_DRIVEN",
        "CONFIG_RING_BUFFER",
        "CONFIG_REQUIRES_FULL_LIBC",
        "CONFIG_REBOOT",
    ):
        assert conf[key] == "y"
    assert conf["CONFIG_UART_CONSOLE"] == "n" and conf["CONFIG_PRINTK"] == "n"
    for key, value in expected.items():
        assert conf[key] == value
    if not BOARDS[options["board"]]["fpu"]:
        assert "CONFIG_FPU" not in conf
    if not options.get("warning_as_error"):
        assert "CONFIG_COMPILER_WARNINGS_AS_ERRORS" not in conf


def test_definitions_and_hardware_board(tmp_path) -> None:
    app = generate(
        tmp_path,
        "mnist_graph",
        board="nrf5340dk_nrf5340_cpuapp",
        project_type="host_driven",
        workspace_size_bytes=200000,
        compile_definitions="-DMY_FLAG=3",
    )
    report = dry_configure(app, "nrf5340dk_nrf5340_cpuapp", tmp_path / "build")
    assert "TVM_WORKSPACE_SIZE_BYTES=200000" in report["definitions"]
    assert "MY_FLAG=3" in report["definitions"]
    assert "PROJECTAPI_GRAPH_EXECUTOR=1" in report["definitions"]
    assert not (app / "qemu_transport.py").exists()  # a hardware board talks over its port


def test_every_option_is_typed_and_explained() -> None:
    with project.TemplateProject("zephyr") as template:
        options = {o.name: o for o in template.options}
    for name in (
        "board",
        "zephyr_base",
        "west_cmd",
        "serial_number",
        "config_main_stack_size",
        "project_type",
        "workspace_size_bytes",
        "library_name",
    ):
        assert options[name].type in ("str", "int", "bool") and options[name].help


def test_build_without_zephyr_says_how_to_get_it(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ZEPHYR_BASE", raising=False)
    generate(tmp_path, board="qemu_cortex_m3")
    with (
        project.GeneratedProject(tmp_path / "p") as generated,
        pytest.raises(server.ToolchainMissingError, match="zephyr_base"),
    ):
        generated.build()


def test_module_configures(tmp_path) -> None:
    with project.TemplateProject("zephyr") as template:
        module = template.generate_library(
            archive("mnist_aot_c"), tmp_path / "m", {"board": "qemu_x86", "library_name": "digits"}
        )
    assert (module / "zephyr" / "module.yml").read_text().startswith("name: digits\n")
    assert "config DIGITS\n" in (module / "zephyr" / "Kconfig").read_text()
    subprocess.run(
        [
            "cmake",
            "-S",
            str(STUB / "module_harness"),
            "-B",
            str(tmp_path / "b"),
            f"-DMODULE_DIR={module}",
            "-DMODULE_SYMBOL=DIGITS",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    calls = dict(
        line.split("=", 1)
        for line in (tmp_path / "b" / "module_report.txt").read_text().splitlines()
    )
    assert calls["zephyr_library_named"] == "digits"
    sources = [pathlib.Path(s) for s in calls["zephyr_library_sources"].split(";")]
    assert module / "digits.c" in sources
    assert all(s.is_file() for s in sources)
    assert calls["zephyr_include_directories"] == str(module / "include")
    assert (module / "include" / "digits.h").is_file()
