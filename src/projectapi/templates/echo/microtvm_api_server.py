"""The echo template: the smallest complete Project API server, with nothing to build.

generate_project copies this file, ``server.py``, the ``microtvm_kit`` package and the Model
Library Format archive (as ``model.tar``) into a new project directory. build and flash do
nothing. The transport runs a real child process that writes back every byte it reads, so a
client can exercise the whole protocol without a device. ``standalone_crt_dir`` is not used.
"""

import pathlib
import shutil
import sys
import tarfile
from typing import Any, Dict, Optional

from microtvm_kit import generate, is_generated_project, process_transport, server, staging

_HERE = pathlib.Path(__file__).resolve().parent

_IS_TEMPLATE = not is_generated_project(_HERE)
_MLF_NAME = "model.tar"

# The child behind the transport: copy stdin to stdout unbuffered until stdin closes.
_ECHO_PROGRAM = (
    "import os\n"
    "while True:\n"
    "    data = os.read(0, 65536)\n"
    "    if not data:\n"
    "        break\n"
    "    while data:\n"
    "        data = data[os.write(1, data):]\n"
)

_OPTIONS = [
    server.ProjectOption(
        "verbose",
        type="bool",
        default=False,
        optional=["open_transport"],
        help="Log every transport read and write to stderr.",
    ),
]

# Session timeouts reported by open_transport. Nothing on the other end speaks the session
# protocol, so these only need to be short enough that a session attempt fails quickly.
_TIMEOUTS = server.TransportTimeouts(
    session_start_retry_timeout_sec=2.0,
    session_start_timeout_sec=5.0,
    session_established_timeout_sec=5.0,
)


class EchoHandler(server.ProjectAPIHandler):
    """Serve the echo template or a project generated from it."""

    def __init__(self) -> None:
        """Start with the transport closed."""
        super().__init__()
        self._transport = process_transport.ProcessTransport(
            [sys.executable, "-c", _ECHO_PROGRAM], cwd=str(_HERE)
        )
        self._verbose = False

    def server_info_query(self, tvm_version: str) -> server.ServerInfo:
        """Describe this template or generated project."""
        return server.ServerInfo(
            platform_name="echo",
            is_template=_IS_TEMPLATE,
            model_library_format_path=None if _IS_TEMPLATE else str(_HERE / _MLF_NAME),
            project_options=_OPTIONS,
            project_type=None if _IS_TEMPLATE else "echo",  # runs no model: bytes echo back
        )

    def generate_project(
        self,
        model_library_format_path: str,
        standalone_crt_dir: str,
        project_dir: str,
        options: Dict[str, Any],
    ) -> None:
        """Copy the server, its helpers and the MLF into ``project_dir``, which must not exist."""
        with staging.staged_directory(project_dir) as stage:
            generate.copy_helpers(_HERE / "microtvm_api_server.py", stage)
            model = stage / _MLF_NAME
            shutil.copyfile(model_library_format_path, str(model))
            if not tarfile.is_tarfile(str(model)):
                raise server.BadArchiveError(
                    "{} is not a tar archive; pass a Model Library Format .tar".format(
                        model_library_format_path
                    )
                )
        _log("generated echo project in {}".format(project_dir))

    def build(self, options: Dict[str, Any]) -> None:
        """Nothing to compile: the echo project is pure Python."""
        _log("nothing to build for the echo template")

    def flash(self, options: Dict[str, Any]) -> None:
        """Nothing to flash: the echo 'device' is a child process started by open_transport."""
        _log("nothing to flash for the echo template")

    def open_transport(self, options: Dict[str, Any]) -> server.TransportTimeouts:
        """Start the echo child (restarting it if a previous transport was left open)."""
        self._transport.close()
        self._verbose = bool(options.get("verbose"))
        self._transport.open()
        return _TIMEOUTS

    def close_transport(self) -> None:
        """Stop and reap the echo child; closing a closed transport does nothing."""
        self._transport.close()

    def read_transport(self, n: int, timeout_sec: Optional[float]) -> bytes:
        """Return 1 to ``n`` echoed bytes, waiting at most ``timeout_sec``."""
        data = self._transport.read(n, timeout_sec)
        if self._verbose:
            _log("read {} bytes".format(len(data)))
        return data

    def write_transport(self, data: bytes, timeout_sec: Optional[float]) -> None:
        """Send ``data`` to the echo child, waiting at most ``timeout_sec``."""
        self._transport.write(data, timeout_sec)
        if self._verbose:
            _log("wrote {} bytes".format(len(data)))


def _log(message: str) -> None:
    """Say what the server did on stderr, which the client streams to the user."""
    print("echo: {}".format(message), file=sys.stderr, flush=True)


if __name__ == "__main__":
    _handler = EchoHandler()
    try:
        server.main(_handler)
    finally:
        _handler.close_transport()  # reap the echo child even if the client never closed it
