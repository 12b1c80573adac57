"""A Project API template whose generate_project writes the project, then takes a long time.

Copy it into a directory as microtvm_api_server.py. generate_project copies the archive into the
new project directory and then sleeps, so a client interrupted during ``create`` finds a project
directory already on disk: what it must then remove.
"""

import os
import shutil
import time

from microtvm_kit import server

# How long generate_project lingers after writing the project (a test interrupts it first).
LINGER_SEC = 60


class SlowGenerateHandler(server.ProjectAPIHandler):
    """Generates slowly; nothing else is needed by the test."""

    def server_info_query(self, tvm_version):
        return server.ServerInfo("slow_generate", True, None, [])

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir, options):
        os.makedirs(project_dir)
        shutil.copy(model_library_format_path, os.path.join(project_dir, "model.tar"))
        time.sleep(LINGER_SEC)

    def build(self, options):
        raise NotImplementedError

    def flash(self, options):
        raise NotImplementedError

    def open_transport(self, options):
        raise NotImplementedError

    def close_transport(self):
        raise NotImplementedError

    def read_transport(self, n, timeout_sec):
        raise NotImplementedError

    def write_transport(self, data, timeout_sec):
        raise NotImplementedError


if __name__ == "__main__":
    server.main(SlowGenerateHandler())
