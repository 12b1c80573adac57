"""generate_library on the wire: declared parameters checked like every method's, served only
by handlers that implement it, and announced in server_info's ``generates``."""

from __future__ import annotations

import io
import json

import pytest

from microtvm_kit import request_checks
from projectapi import server
from projectapi.server import ErrorCode

LIBRARY_PARAMS = {
    "model_library_format_path": "/m.tar",
    "standalone_crt_dir": "/crt",
    "library_dir": "/lib",
    "options": {"library_name": "m"},
}


class ProjectsOnly(server.ProjectAPIHandler):
    """A handler that generates projects only (its methods are never called here but one)."""

    calls: list

    def __init__(self) -> None:
        self.calls = []

    def server_info_query(self, tvm_version: str) -> server.ServerInfo:
        return server.ServerInfo("test", True, None, [])

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir, options):
        raise AssertionError("not called")

    build = flash = open_transport = generate_project
    close_transport = read_transport = write_transport = generate_project


class WithLibrary(ProjectsOnly):
    def generate_library(self, model_library_format_path, standalone_crt_dir, library_dir, options):
        self.calls.append((model_library_format_path, standalone_crt_dir, library_dir, options))


def serve(handler: server.ProjectAPIHandler, method: str, params: object) -> dict:
    """One request through a ProjectAPIServer on in-memory files; the reply."""
    request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    replies = io.BytesIO()
    api = server.ProjectAPIServer(io.BytesIO(request.encode() + b"\n"), replies, handler)
    assert api.serve_one_request()
    return json.loads(replies.getvalue())


def test_library_handler_is_served_and_announced() -> None:
    handler = WithLibrary()
    assert serve(handler, "generate_library", LIBRARY_PARAMS) == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": None,
    }
    assert handler.calls == [("/m.tar", "/crt", "/lib", {"library_name": "m"})]
    info = serve(handler, "server_info_query", {"tvm_version": "0.14.0"})["result"]
    assert info["generates"] == ["project", "library"]


def test_projects_only_handler_does_not_offer_it() -> None:
    reply = serve(ProjectsOnly(), "generate_library", LIBRARY_PARAMS)
    assert reply["error"]["code"] == ErrorCode.METHOD_NOT_FOUND
    info = serve(ProjectsOnly(), "server_info_query", {"tvm_version": "0.14.0"})["result"]
    assert info["generates"] == ["project"]


@pytest.mark.parametrize(
    ("params", "text"),
    [
        (
            {k: v for k, v in LIBRARY_PARAMS.items() if k != "library_dir"},
            "missing parameter 'library_dir'",
        ),
        (dict(LIBRARY_PARAMS, project_dir="/p"), "unknown parameter 'project_dir'"),
        (dict(LIBRARY_PARAMS, options=[]), "parameter 'options' must be an object"),
        (dict(LIBRARY_PARAMS, library_dir=3), "parameter 'library_dir' must be a string"),
    ],
)
def test_parameters_are_checked(params: dict, text: str) -> None:
    handler = WithLibrary()
    reply = serve(handler, "generate_library", params)
    assert reply["error"]["code"] == ErrorCode.INVALID_PARAMS
    assert reply["error"]["message"].startswith("generate_library: ")
    assert text in reply["error"]["message"]
    assert handler.calls == []


def test_options_may_name_generate_library() -> None:
    option = server.ProjectOption("library_name", type="str", optional=["generate_library"])
    assert option.optional == ["generate_library"]
    assert "generate_library" in server.OPTION_METHODS
    assert request_checks.check_params("generate_library", dict(LIBRARY_PARAMS))
