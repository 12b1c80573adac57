"""generate_library on the host template: the CMake package linked into a user's own program."""

from __future__ import annotations

import json
import subprocess

import pytest
from host.host_testlib import archive, reference

from projectapi import cli, conformance, project, server

from .library_testlib import HERE, check_reply, write_reference_input

ARCHIVES = ("mnist_aot_c", "qnn_dense_int8_aot_c", "mnist_aot_packed_syslib", "mnist_graph_params")


def build_user_program(library_dir, input_dir, build_dir):
    """Configure and build the user's program against the library's CMake package."""
    subprocess.run(
        [
            "cmake",
            "-S",
            str(HERE),
            "-B",
            str(build_dir),
            f"-DLIBRARY_DIR={library_dir}",
            f"-DINPUT_DIR={input_dir}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    subprocess.run(["cmake", "--build", str(build_dir)], check=True, capture_output=True, text=True)
    return build_dir / "user_program"


@pytest.mark.slow
@pytest.mark.parametrize("name", ARCHIVES)
def test_user_program_produces_reference(name: str, tmp_path) -> None:
    with project.TemplateProject("host") as template:
        assert template.generates == ("project", "library")
        library_dir = template.generate_library(archive(name), tmp_path / "lib")
    assert (library_dir / "lib" / "libtvm_model.a").is_file()
    assert json.loads((library_dir / "library.json").read_text())["library_name"] == "tvm_model"
    assert not (library_dir / "build").exists()
    program = build_user_program(
        library_dir, write_reference_input(name, tmp_path / "in"), tmp_path / "build"
    )
    reply = subprocess.run([str(program)], check=True, capture_output=True).stdout
    check_reply(name, reply)


def test_header_names_the_tensors(tmp_path) -> None:
    name = "qnn_dense_int8_aot_c"
    x, want = reference(name)
    with project.TemplateProject("host") as template:
        library_dir = template.generate_library(
            archive(name), tmp_path / "lib", {"library_name": "dense8"}
        )
    header = (library_dir / "include" / "dense8.h").read_text()
    assert "int32_t dense8_init(void);" in header
    assert "int32_t dense8_run(const void* const* inputs, void* const* outputs);" in header
    assert f"#define DENSE8_INPUT0_BYTES {x.nbytes}" in header
    assert f"#define DENSE8_OUTPUT0_BYTES {want.nbytes}" in header
    assert (library_dir / "lib" / "libdense8.a").is_file()
    assert "dense8::dense8" in (library_dir / "dense8Config.cmake").read_text()


def test_bad_library_name_leaves_nothing(tmp_path) -> None:
    with (
        project.TemplateProject("host") as template,
        pytest.raises(server.UnsupportedOptionError, match="library_name must be a C"),
    ):
        template.generate_library(
            archive("mnist_aot_c"), tmp_path / "lib", {"library_name": "my-model"}
        )
    assert list(tmp_path.iterdir()) == []


def test_existing_directory_is_refused(tmp_path) -> None:
    (tmp_path / "lib").mkdir()
    with (
        project.TemplateProject("host") as template,
        pytest.raises(project.ProjectPathError, match=r"library directory .* already exists"),
    ):
        template.generate_library(archive("mnist_aot_c"), tmp_path / "lib")


def test_projects_only_template_refuses(tmp_path) -> None:
    with project.TemplateProject("echo") as template:
        assert template.generates == ("project",)
        with pytest.raises(project.ProjectKindError, match="not libraries"):
            template.generate_library(archive("mnist_aot_c"), tmp_path / "lib")


@pytest.mark.slow
def test_cli_library(tmp_path, capsys) -> None:
    out = tmp_path / "lib"
    status = cli.main(
        [
            "library",
            str(archive("mnist_aot_c")),
            str(out),
            "--template",
            "host",
            "-o",
            "library_name=mnist",
            "-o",
            "build_type=debug",
            "--json",
        ]
    )
    assert status == 0
    data = json.loads(capsys.readouterr().out)["result"]
    assert data["library_dir"] == str(out)
    assert data["platform_name"] == "host"
    assert (out / "lib" / "libmnist.a").is_file()
    assert json.loads((out / "library.json").read_text())["build_type"] == "debug"


@pytest.mark.parametrize("template", ["host", "echo"])
def test_check_covers_generate_library(template: str) -> None:
    results = {r.name: r for r in conformance.run_checks(template)}
    assert all(r.status != "fail" for r in results.values()), results
    library_check = results["generate_library is served as server_info says"]
    assert library_check.status == "pass"
    if template == "host":
        assert "generate_library served" in library_check.detail
    else:
        assert "METHOD_NOT_FOUND" in library_check.detail
