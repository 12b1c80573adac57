"""Option validation, typing of command-line values and project lookup (no processes)."""

from __future__ import annotations

import pytest

from projectapi import client, project
from projectapi.server import ProjectOption

_OPTIONS = [
    ProjectOption(
        "board", type="str", choices=["qemu_x86", "nucleo"], required=["generate_project", "flash"]
    ),
    ProjectOption("jobs", type="int", default=2, optional=["build"]),
    ProjectOption("verbose", type="bool", default=False, optional=["generate_project", "build"]),
    ProjectOption("defines", type="str", default="", optional=["generate_project"]),
]


def test_defaults_fill_in_and_only_relevant_options_are_sent() -> None:
    given = {"board": "nucleo", "verbose": True}
    assert project.prepare_options(_OPTIONS, "build", given) == {"jobs": 2, "verbose": True}
    assert project.prepare_options(_OPTIONS, "generate_project", given) == {
        "board": "nucleo",
        "verbose": True,
        "defines": "",
    }
    assert project.prepare_options(_OPTIONS, "open_transport", given) == {}


def test_callers_dict_is_not_mutated() -> None:
    given = {"board": "nucleo"}
    sent = project.prepare_options(_OPTIONS, "generate_project", given)
    sent["board"] = "changed"
    assert given == {"board": "nucleo"}


def test_none_means_not_given() -> None:
    sent = project.prepare_options(_OPTIONS, "build", {"jobs": None, "board": None})
    assert sent == {"jobs": 2, "verbose": False}


def test_unknown_option_lists_what_is_allowed() -> None:
    with pytest.raises(project.OptionError) as raised:
        project.prepare_options(_OPTIONS, "build", {"jbos": 4})
    message = str(raised.value)
    assert "unknown option 'jbos'" in message
    for name in ("board", "jobs (int, default 2)", "verbose (bool, default false)", "defines"):
        assert name in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("verbose", "false", "option 'verbose' must be of type bool, got str false"),
        ("jobs", True, "option 'jobs' must be of type int, got bool true"),
        ("jobs", 2.5, "option 'jobs' must be of type int, got float 2.5"),
        ("defines", 1, "option 'defines' must be of type str, got int 1"),
        ("board", "esp32", "option 'board' must be one of qemu_x86, nucleo, got esp32"),
    ],
)
def test_wrong_types_and_choices_are_refused(name: str, value: object, expected: str) -> None:
    given = {"board": "nucleo", name: value}
    with pytest.raises(project.OptionError, match=expected):
        project.prepare_options(_OPTIONS, "generate_project", given)


def test_missing_required_option_names_the_method_and_choices() -> None:
    with pytest.raises(project.OptionError) as raised:
        project.prepare_options(_OPTIONS, "flash", {})
    assert str(raised.value) == "flash requires option board (str, one of qemu_x86|nucleo)"
    assert project.prepare_options(_OPTIONS, "build", {}) == {"jobs": 2, "verbose": False}


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(project.OptionError) as raised:
        project.prepare_options(_OPTIONS, "generate_project", {"jobs": "x", "colour": 1})
    message = str(raised.value)
    assert "unknown option 'colour'" in message
    assert "option 'jobs' must be of type int" in message
    assert "generate_project requires option board" in message


def test_cli_strings_are_typed_by_declared_type() -> None:
    values = project.parse_option_strings(
        ["verbose=false", "jobs=0x10", "defines=-DX=1 -DY=2", "board=nucleo"], _OPTIONS
    )
    assert values == {"verbose": False, "jobs": 16, "defines": "-DX=1 -DY=2", "board": "nucleo"}
    assert project.parse_option_strings(["verbose=YES", "jobs=08"], _OPTIONS) == {
        "verbose": True,
        "jobs": 8,
    }


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        (["verbose"], "expected KEY=VALUE, got 'verbose'"),
        (["=1"], "expected KEY=VALUE, got '=1'"),
        (["verbose=maybe"], "option 'verbose' expects type bool, got 'maybe'"),
        (["jobs=many"], "option 'jobs' expects type int, got 'many'"),
        (["colour=red"], "unknown option 'colour'; allowed: board"),
        (["jobs=1", "jobs=2"], "option 'jobs' given more than once"),
    ],
)
def test_bad_cli_strings_are_refused(pairs: list[str], expected: str) -> None:
    with pytest.raises(project.OptionError, match=expected):
        project.parse_option_strings(pairs, _OPTIONS)


def test_option_from_wire_ignores_unknown_fields_and_rejects_bad_declarations() -> None:
    raw = {"name": "jobs", "type": "int", "optional": ["build"], "default": 3, "since": "1.0"}
    assert project.option_from_wire(raw) == ProjectOption(
        "jobs", type="int", optional=["build"], default=3
    )
    with pytest.raises(client.ProtocolError, match="invalid option"):
        project.option_from_wire({"name": "jobs", "type": "float", "optional": ["build"]})


def test_builtin_templates_are_folders_with_a_server() -> None:
    names = project.builtin_templates()
    assert "echo" in names
    assert "microtvm_kit" not in names
    assert "c" not in names


def test_find_project_dir(tmp_path, monkeypatch) -> None:
    assert project.find_project_dir("echo") == project.TEMPLATES_DIR / "echo"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "microtvm_api_server.py").write_text("")
    monkeypatch.chdir(tmp_path)
    assert project.find_project_dir("mine") == tmp_path / "mine"
    (tmp_path / "echo").mkdir()  # a directory of that name wins over the built-in template
    with pytest.raises(project.ProjectNotFoundError, match=r"has no microtvm_api_server\.py"):
        project.find_project_dir("echo")
    with pytest.raises(project.ProjectNotFoundError, match=r"built-in templates: .*echo"):
        project.find_project_dir("no-such-thing")


def test_path_valued_options_are_made_absolute_against_the_callers_directory(
    tmp_path, monkeypatch
) -> None:
    declared = [
        ProjectOption("extra_files_tar", type="str", optional=["generate_project"]),
        ProjectOption("board", type="str", optional=["generate_project"]),
    ]
    monkeypatch.chdir(tmp_path)
    sent = project.prepare_options(
        declared, "generate_project", {"extra_files_tar": "extra.tar", "board": "an385"}
    )
    assert sent == {"extra_files_tar": str(tmp_path / "extra.tar"), "board": "an385"}
