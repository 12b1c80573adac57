"""A Project API template that writes terminal control sequences: to its stderr while it
starts and in the message of the error generate_project raises.

Copy it into a directory as microtvm_api_server.py.
"""

import sys

from microtvm_kit import server

# NUL, clear screen, set the window title (OSC ... BEL), a C1 control (CSI).
NASTY = "\x00\x1b[2J\x1b]0;owned\x07\x9b"


class MisbehavingHandler(server.ProjectAPIHandler):
    """Answers server_info_query; everything else fails with control characters."""

    def server_info_query(self, tvm_version):
        sys.stderr.write("starting" + NASTY + "\n")
        sys.stderr.flush()
        return server.ServerInfo("misbehaving", True, None, [])

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir, options):
        raise ValueError("bad archive" + NASTY)

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
    server.main(MisbehavingHandler())
