"""What a template implements: the handler base class and the values its methods return."""

from __future__ import annotations

import abc
import collections
from typing import ClassVar, Optional, Sequence

# project_type: what a generated project's device runs (e.g. aot_standalone, host_driven), for
# projectapi's run; an extra reply key TVM's client ignores, None for templates.
ServerInfo = collections.namedtuple(
    "ServerInfo",
    ["platform_name", "is_template", "model_library_format_path", "project_options", "project_type"],
    defaults=(None,),
)
ServerInfo.__doc__ = (
    "What server_info_query reports: platform, template or not, MLF path, options, project type."
)

TransportTimeouts = collections.namedtuple(
    "TransportTimeouts",
    [
        "session_start_retry_timeout_sec",
        "session_start_timeout_sec",
        "session_established_timeout_sec",
    ],
)
TransportTimeouts.__doc__ = """Timeouts (seconds) a host session should use over this transport.

TVM's wire meaning, unlike the transport contract's: session_start_retry_timeout_sec 0 means
"do not resend the handshake", and 0 in the other two means "no limit" to TVM's host (our
Session then uses a finite default instead)."""


class ProjectAPIHandler(abc.ABC):
    """What a template implements; each method answers the RPC of the same name."""

    # Glob patterns (relative to a generated project, ``fnmatch`` style) of every file that
    # flash and open_transport read once the project is built: what a built project must keep
    # to be flashed elsewhere. None: it may read any file (``server_info_query``'s ``run_files``).
    RUN_FILES: ClassVar[Optional[Sequence[str]]] = None
    # Those of the RUN_FILES the server reads only when it starts (its code, data it loads at
    # import); it reads the others at each flash and open_transport call, so a client may
    # replace them between calls and keep the server (``server_info_query``'s
    # ``startup_files``). None: no such promise.
    STARTUP_FILES: ClassVar[Optional[Sequence[str]]] = None

    @abc.abstractmethod
    def server_info_query(self, tvm_version: str) -> ServerInfo:
        """Describe this server; may raise UnsupportedTVMVersionError."""

    @abc.abstractmethod
    def generate_project(
        self,
        model_library_format_path: str,
        standalone_crt_dir: str,
        project_dir: str,
        options: dict,
    ) -> None:
        """Create a project in ``project_dir`` from the MLF archive and the runtime sources."""

    def generate_library(
        self,
        model_library_format_path: str,
        standalone_crt_dir: str,
        library_dir: str,
        options: dict,
    ) -> None:
        """Create a library in ``library_dir``: the model, the runtime, one header, build glue.

        Optional: only a template that overrides it serves the method and reports ``library``
        in server_info's ``generates`` (see ``generates``).
        """
        raise NotImplementedError("this template does not generate libraries")

    @abc.abstractmethod
    def build(self, options: dict) -> None:
        """Build the generated project."""

    @abc.abstractmethod
    def flash(self, options: dict) -> None:
        """Put the built firmware on the device."""

    @abc.abstractmethod
    def open_transport(self, options: dict) -> TransportTimeouts:
        """Open the byte channel to the device and say which session timeouts to use."""

    @abc.abstractmethod
    def close_transport(self) -> None:
        """Close the byte channel; closing a closed transport does nothing."""

    @abc.abstractmethod
    def read_transport(self, n: int, timeout_sec: float | None) -> bytes:
        """Return 1..n bytes; raise IoTimeoutError or TransportClosedError (None: no timeout)."""

    @abc.abstractmethod
    def write_transport(self, data: bytes, timeout_sec: float | None) -> None:
        """Write all of ``data``; raise IoTimeoutError or TransportClosedError."""


def generates(handler: ProjectAPIHandler) -> list:
    """What ``handler`` can generate: ``project`` always, ``library`` when it implements
    generate_library (server_info_query reports it as ``generates``)."""
    kinds = ["project"]
    if type(handler).generate_library is not ProjectAPIHandler.generate_library:
        kinds.append("library")
    return kinds
