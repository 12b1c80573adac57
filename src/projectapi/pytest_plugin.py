"""pytest fixtures for on-target tests: a generated, built and flashed project, and an open
session on its device, so a test reads ``def test_model(projectapi_session): ...``.

Installed with projectapi (the ``pytest11`` entry point). Options: ``--projectapi-template``
(a built-in template's name or a template directory), ``--projectapi-model`` (the MLF archive),
``--projectapi-option KEY=VALUE`` (repeatable, typed like ``projectapi create -o``) and
``--projectapi-board NAME`` (the ``board`` option). ``project_type`` defaults to
``host_driven``, which the session needs. The project is generated once per test run.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from projectapi import mlf
from projectapi.project import GeneratedProject, TemplateProject, parse_option_strings

_GROUP = "projectapi"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the --projectapi-* options."""
    group = parser.getgroup(_GROUP, "projectapi on-target tests")
    group.addoption(
        "--projectapi-template",
        metavar="NAME|DIR",
        help="template to generate the project from (host, qemu, or a directory)",
    )
    group.addoption(
        "--projectapi-model",
        metavar="MLF.tar",
        type=pathlib.Path,
        help="the Model Library Format archive to run",
    )
    group.addoption(
        "--projectapi-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a project option (repeatable), e.g. uart=pty",
    )
    group.addoption("--projectapi-board", metavar="NAME", help="the board option")


def _settings(config: pytest.Config, template: TemplateProject) -> dict[str, Any]:
    pairs = list(config.getoption("--projectapi-option"))
    board = config.getoption("--projectapi-board")
    if board:
        pairs.append(f"board={board}")
    settings = parse_option_strings(pairs, template.options)
    if any(option.name == "project_type" for option in template.options):
        settings.setdefault("project_type", "host_driven")
    return settings


@pytest.fixture(scope="session")
def projectapi_model(pytestconfig: pytest.Config) -> mlf.Model:
    """The model of --projectapi-model, read from its archive."""
    path = pytestconfig.getoption("--projectapi-model")
    if path is None:
        pytest.fail("give the model to test with --projectapi-model MLF.tar", pytrace=False)
    return mlf.open(path).model()


@pytest.fixture(scope="session")
def projectapi_project(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GeneratedProject]:
    """A project generated from --projectapi-template for --projectapi-model, built and
    flashed; closed at the end of the test run."""
    name = pytestconfig.getoption("--projectapi-template")
    model = pytestconfig.getoption("--projectapi-model")
    if name is None or model is None:
        pytest.fail(
            "projectapi fixtures need --projectapi-template and --projectapi-model", pytrace=False
        )
    project_dir = tmp_path_factory.mktemp("projectapi") / "project"
    with TemplateProject(name) as template:
        project = template.generate_project(model, project_dir, _settings(pytestconfig, template))
    with project:
        project.build()
        project.flash()
        yield project


@pytest.fixture(scope="session")
def projectapi_session(projectapi_project: GeneratedProject) -> Iterator[Any]:
    """An open microTVM session on the project's device (host-driven projects)."""
    from projectapi import micro

    with micro.Session(projectapi_project.transport()) as session:
        yield session
