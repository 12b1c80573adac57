"""A template written for TVM's Project API in the manner of TVM's ``crt`` host template.

It imports ``tvm.micro.project_api``, receives paths as ``pathlib.Path`` objects, copies the
runtime tree handed over as ``standalone_crt_dir`` (TVM's standalone layout) into ``crt/``, and
builds with a CMake project that globs that layout; its program, built from C++ sources, is a
host-driven microTVM device on stdin/stdout. It writes no file of projectapi's own templates.
"""

import os
import pathlib
import shutil
import subprocess
import tarfile

from tvm.micro.project_api import server

HERE = pathlib.Path(__file__).resolve().parent
MLF_NAME = "model.tar"
IS_TEMPLATE = not (HERE / MLF_NAME).exists()
RUNTIME_ITEMS = ("include", "src", "Makefile")  # taken from standalone_crt_dir into crt/
WORKSPACE_SIZE_BYTES = 2 * 1024 * 1024
PROGRAM = HERE / "build" / "main"


class Handler(server.ProjectAPIHandler):
    """generate_project, build, and the program's stdin/stdout as the transport."""

    def __init__(self):
        super().__init__()
        self._program = None

    def server_info_query(self, tvm_version):
        return server.ServerInfo(
            platform_name="tvm_crt_style",
            is_template=IS_TEMPLATE,
            model_library_format_path="" if IS_TEMPLATE else HERE / MLF_NAME,
            project_options=[
                server.ProjectOption(
                    "workspace_size_bytes",
                    optional=["generate_project"],
                    type="int",
                    default=WORKSPACE_SIZE_BYTES,
                    help="Bytes of the platform's memory pool.",
                ),
                server.ProjectOption(
                    "verbose",
                    optional=["build"],
                    type="bool",
                    default=False,
                    help="Show compiler command lines.",
                ),
            ],
        )

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir, options):
        project_dir.mkdir(parents=True)
        shutil.copy2(__file__, project_dir / "microtvm_api_server.py")
        shutil.copy2(model_library_format_path, project_dir / MLF_NAME)
        with tarfile.open(project_dir / MLF_NAME) as archive:
            archive.extractall(project_dir / "model")
        (project_dir / "crt").mkdir()
        for item in RUNTIME_ITEMS:
            source = standalone_crt_dir / item
            if source.is_dir():
                shutil.copytree(source, project_dir / "crt" / item)
            else:
                shutil.copy2(source, project_dir / "crt" / item)
        shutil.copytree(HERE / "crt_config", project_dir / "crt_config")
        shutil.copytree(HERE / "src", project_dir / "src")
        workspace = options.get("workspace_size_bytes") or WORKSPACE_SIZE_BYTES
        cmake = (HERE / "CMakeLists.txt.template").read_text()
        (project_dir / "CMakeLists.txt").write_text(
            cmake.replace("@WORKSPACE_SIZE_BYTES@", str(workspace))
        )

    def build(self, options):
        build_dir = HERE / "build"
        subprocess.check_call(["cmake", "-S", str(HERE), "-B", str(build_dir)])
        verbose = ["--verbose"] if options.get("verbose") else []
        subprocess.check_call(["cmake", "--build", str(build_dir), "-j", "2", *verbose])

    def flash(self, options):
        pass  # the program runs on this machine

    def open_transport(self, options):
        self.close_transport()
        self._program = subprocess.Popen(
            [str(PROGRAM)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )
        os.set_blocking(self._program.stdin.fileno(), False)
        os.set_blocking(self._program.stdout.fileno(), False)
        return server.TransportTimeouts(
            session_start_retry_timeout_sec=2.0,
            session_start_timeout_sec=10.0,
            session_established_timeout_sec=60.0,
        )

    def close_transport(self):
        if self._program is None:
            return
        program, self._program = self._program, None
        program.stdin.close()
        try:
            program.wait(5)
        except subprocess.TimeoutExpired:
            program.kill()
            program.wait()
        program.stdout.close()

    def read_transport(self, n, timeout_sec):
        if self._program is None:
            raise server.TransportClosedError()
        return server.read_with_timeout(self._program.stdout.fileno(), n, timeout_sec)

    def write_transport(self, data, timeout_sec):
        if self._program is None:
            raise server.TransportClosedError()
        server.write_with_timeout(self._program.stdin.fileno(), data, timeout_sec)


if __name__ == "__main__":
    server.main(Handler())
