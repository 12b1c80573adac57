"""TVM's calling conventions, for handlers written for TVM's ``tvm.micro.project_api.server``.

TVM's server hands ``generate_project`` its three paths as ``pathlib.Path`` objects and turns a
``pathlib.Path`` in ``ServerInfo.model_library_format_path`` into a string; projectapi's server
passes and expects strings. ``main`` serves such a handler through ``TVMHandlerAdapter``, which
does those conversions; everything else goes through unchanged. Standard library only, Python 3.8+.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any, Dict, List, Optional

from microtvm_kit import server


class TVMHandlerAdapter(server.ProjectAPIHandler):
    """Serves a handler written for TVM: Path arguments in, string MLF path out."""

    def __init__(self, handler: server.ProjectAPIHandler) -> None:
        self._handler = handler

    def server_info_query(self, tvm_version: str) -> server.ServerInfo:
        """The handler's ServerInfo with its MLF path as a string."""
        info = self._handler.server_info_query(tvm_version)
        path = getattr(info, "model_library_format_path", None)
        if isinstance(info, server.ServerInfo) and isinstance(path, os.PathLike):
            info = info._replace(model_library_format_path=os.fspath(path))
        return info

    def generate_project(
        self,
        model_library_format_path: str,
        standalone_crt_dir: str,
        project_dir: str,
        options: Dict[str, Any],
    ) -> None:
        """Call the handler with the three paths as ``pathlib.Path``."""
        self._handler.generate_project(
            pathlib.Path(model_library_format_path),
            pathlib.Path(standalone_crt_dir),
            pathlib.Path(project_dir),
            options,
        )

    def build(self, options: Dict[str, Any]) -> None:
        """Forwarded."""
        self._handler.build(options)

    def flash(self, options: Dict[str, Any]) -> None:
        """Forwarded."""
        self._handler.flash(options)

    def open_transport(self, options: Dict[str, Any]) -> server.TransportTimeouts:
        """Forwarded."""
        return self._handler.open_transport(options)

    def close_transport(self) -> None:
        """Forwarded."""
        self._handler.close_transport()

    def read_transport(self, n: int, timeout_sec: Optional[float]) -> bytes:
        """Forwarded."""
        return self._handler.read_transport(n, timeout_sec)

    def write_transport(self, data: bytes, timeout_sec: Optional[float]) -> None:
        """Forwarded."""
        self._handler.write_transport(data, timeout_sec)


def main(handler: server.ProjectAPIHandler, argv: Optional[List[str]] = None) -> None:
    """``server.main`` for a handler written for TVM."""
    server.main(TVMHandlerAdapter(handler), argv)
