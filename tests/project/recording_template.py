"""A Project API template for tests: records every call it gets in calls.jsonl beside itself.

Copy it into a directory as microtvm_api_server.py. It declares options of every type, a
required option with choices, and defaults; generate_project copies it (marked generated) and
the MLF into the new project directory. The transport is a plain in-memory echo.
"""

import json
import pathlib
import shutil

from microtvm_kit import server

HERE = pathlib.Path(__file__).resolve().parent
GENERATED = (HERE / "generated").exists()
OPTIONS = [
    server.ProjectOption(
        "board", type="str", choices=["a", "b"], required=["generate_project", "flash"]
    ),
    server.ProjectOption("jobs", type="int", default=2, optional=["build"]),
    server.ProjectOption(
        "verbose", type="bool", default=False, optional=["generate_project", "build"]
    ),
    server.ProjectOption("defines", type="str", optional=["generate_project"]),
]


def record(method, **params):
    """Append one call to calls.jsonl."""
    with open(HERE / "calls.jsonl", "a") as calls:
        calls.write(json.dumps({"method": method, "params": params}) + "\n")


class RecordingHandler(server.ProjectAPIHandler):
    """Records calls; generates a copy of itself."""

    def __init__(self):
        self._pending = b""

    def server_info_query(self, tvm_version):
        record("server_info_query", tvm_version=tvm_version)
        mlf = str(HERE / "model.tar") if GENERATED else None
        return server.ServerInfo("recorder", not GENERATED, mlf, OPTIONS)

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir, options):
        record(
            "generate_project",
            model_library_format_path=model_library_format_path,
            standalone_crt_dir=standalone_crt_dir,
            project_dir=project_dir,
            options=options,
        )
        target = pathlib.Path(project_dir)
        target.mkdir()
        shutil.copy(__file__, target / "microtvm_api_server.py")
        shutil.copy(model_library_format_path, target / "model.tar")
        (target / "generated").touch()

    def build(self, options):
        record("build", options=options)

    def flash(self, options):
        record("flash", options=options)

    def open_transport(self, options):
        record("open_transport", options=options)
        return server.TransportTimeouts(1.0, 2.0, 3.0)

    def close_transport(self):
        record("close_transport")

    def read_transport(self, n, timeout_sec):
        if not self._pending:
            raise server.IoTimeoutError()
        data, self._pending = self._pending[:n], self._pending[n:]
        return data

    def write_transport(self, data, timeout_sec):
        self._pending += data


if __name__ == "__main__":
    server.main(RecordingHandler())
