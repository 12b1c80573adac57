"""A server written for TVM: it imports tvm.micro.project_api and records how it was started."""

import json
import os
import sys

import tvm
from tvm.micro.project_api import server


class Handler(server.ProjectAPIHandler):
    """Answers server_info_query; the other calls are not needed by the tests."""

    def server_info_query(self, tvm_version):
        return server.ServerInfo(
            platform_name="tvm_launcher",
            is_template=True,
            model_library_format_path="",
            project_options=[],
        )

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir, options):
        raise NotImplementedError()

    def build(self, options):
        raise NotImplementedError()

    def flash(self, options):
        raise NotImplementedError()

    def open_transport(self, options):
        raise NotImplementedError()

    def close_transport(self):
        raise NotImplementedError()

    def read_transport(self, n, timeout_sec):
        raise NotImplementedError()

    def write_transport(self, data, timeout_sec):
        raise NotImplementedError()


if __name__ == "__main__":
    record = {
        "argv": sys.argv,
        "cwd": os.getcwd(),
        "python": sys.executable,
        "tvm": getattr(tvm, "PROVIDER", "shim"),
        "server": server.ProjectAPIHandler.__module__.rsplit(".", 1)[0],
    }
    with open("launched.json", "w") as file:
        json.dump(record, file)
    server.main(Handler())
