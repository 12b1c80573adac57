"""Every error a template raises arrives on the host as its own class, over real pipes.

A template server subprocess (servers/raising_server.py, and the built-in templates) raises each
error of ``microtvm_kit.errors``; the client rebuilds the class named in the error reply, which
is also an RPCError, a JSONRPCError and a ProjectAPIError, and keeps the server's message.
"""

from __future__ import annotations

import pathlib
import pickle
from collections.abc import Iterator

import pytest

from microtvm_kit import errors
from projectapi import client, server
from projectapi.errors import ProjectAPIError
from projectapi.project import TEMPLATES_DIR

from .conftest import make_project


@pytest.fixture(scope="module")
def raising_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.ProjectAPIClient]:
    """A client of one raising_server.py process, shared by the tests of this module."""
    project = make_project(tmp_path_factory.mktemp("raising"), "raising_server.py")
    with client.instantiate_from_dir(project, echo_output=False) as api:
        yield api


@pytest.mark.parametrize("name", sorted(errors.WIRE_ERRORS))
def test_each_wire_error_arrives_as_its_class(raising_client, name: str) -> None:
    cls = errors.WIRE_ERRORS[name]
    with pytest.raises(cls) as raised:
        raising_client.build({"error": name})
    error = raised.value
    assert type(error).__name__ == name
    assert isinstance(error, client.RPCError)
    assert isinstance(error, server.ServerError)
    assert isinstance(error, ProjectAPIError)
    assert error.method == "build"
    assert error.message == name  # the wire message: the class name, as TVM's client expects
    assert error.detail == f"raised {name} on purpose\nsecond line"
    assert f"raised {name} on purpose" in str(error)
    assert "raise (cls or getattr(errors, name))" in error.traceback
    # the client stays usable after an error reply
    assert raising_client.server_info_query("0.14.0")["platform_name"] == "raising"


def test_a_rebuilt_error_survives_pickling(raising_client) -> None:
    with pytest.raises(errors.FirmwareTooBigError) as raised:
        raising_client.build({"error": "FirmwareTooBigError"})
    copy = pickle.loads(pickle.dumps(raised.value))
    assert type(copy) is type(raised.value)
    assert (copy.message, copy.detail, copy.method) == (
        "FirmwareTooBigError",
        raised.value.detail,
        "build",
    )
    assert str(copy) == str(raised.value)


def test_a_templates_own_subclass_arrives_as_the_wire_error_it_extends(raising_client) -> None:
    with pytest.raises(errors.BadArchiveError) as raised:
        raising_client.build({"error": "TemplateArchiveError"})
    assert type(raised.value).__name__ == "BadArchiveError"
    assert raised.value.detail == "raised TemplateArchiveError on purpose\nsecond line"
    assert "TemplateArchiveError" in raised.value.traceback


def test_an_unknown_class_is_a_generic_remote_error_keeping_name_and_message(
    raising_client,
) -> None:
    with pytest.raises(client.RemoteServerError) as raised:
        raising_client.build({"error": "KeyError"})
    assert isinstance(raised.value, server.ServerError)
    assert raised.value.message == "KeyError"
    assert "raised KeyError on purpose" in raised.value.detail
    assert "KeyError" in str(raised.value)


def test_transport_errors_keep_their_tvm_names(raising_client) -> None:
    with pytest.raises(server.TransportClosedError) as raised:
        raising_client.read_transport(1, 0.1)
    assert isinstance(raised.value, client.RPCError)


def test_the_echo_template_refuses_a_non_tar_archive_as_bad_archive(
    tmp_path: pathlib.Path,
) -> None:
    not_tar = tmp_path / "model.tar"
    not_tar.write_text("not a tar archive")
    with (
        client.instantiate_from_dir(TEMPLATES_DIR / "echo", echo_output=False) as api,
        pytest.raises(errors.BadArchiveError, match="is not a tar archive"),
    ):
        api.generate_project(str(not_tar), "", str(tmp_path / "project"), {})
    assert not (tmp_path / "project").exists()


@pytest.mark.parametrize(
    ("template", "option", "value", "cls"),
    [
        ("host", "project_type", "no_such_type", errors.UnsupportedProjectTypeError),
        ("qemu", "board", "no_such_board", errors.BoardNotFoundError),
    ],
)
def test_a_template_names_a_bad_choice_by_its_class(
    tmp_path: pathlib.Path, template: str, option: str, value: str, cls: type
) -> None:
    options = {"project_type": "host_driven", "board": "mps2-an385", option: value}
    with (
        client.instantiate_from_dir(TEMPLATES_DIR / template, echo_output=False) as api,
        pytest.raises(cls, match=value),
    ):
        api.generate_project(str(tmp_path / "absent.tar"), "", str(tmp_path / "p"), options)
