"""The Project API server helper, as templates and TVM's client know it.

A template subclasses ``ProjectAPIHandler`` and calls ``main(handler)``. This module gathers the
public names of the modules that do the work (protocol version 1, as TVM v0.14 speaks it):

- ``errors``: the error classes that cross the wire (JSONRPCError, ServerError, ...);
- ``options``: ProjectOption and the options most templates share;
- ``handler``: the handler base class, ServerInfo, TransportTimeouts;
- ``wire_codecs`` and ``json_lines``: transport data as text, one JSON value per line;
- ``transport``: the transport contract and fd reads and writes with timeouts;
- ``api_server``: the request loop and ``main``.

Standard library only and Python 3.8+, like the whole package.
"""

from .api_server import ProjectAPIServer, main
from .errors import (
    BadArchiveError,
    BoardNotFoundError,
    BuildFailedError,
    ErrorCode,
    FirmwareTooBigError,
    GenerateError,
    HandlerResultError,
    IoTimeoutError,
    JSONRPCError,
    NotBuiltError,
    NotGeneratedError,
    ProjectAPIError,
    ServerError,
    ToolchainMissingError,
    TransportClosedError,
    TransportOpenError,
    UnsafeArchiveError,
    UnsupportedOptionError,
    UnsupportedProjectTypeError,
    UnsupportedTVMVersionError,
)
from .handler import ProjectAPIHandler, ServerInfo, TransportTimeouts
from .json_lines import dumps_compact, loads_line, loads_line_with_data
from .options import OPTION_METHODS, OPTION_TYPES, ProjectOption, default_project_options
from .request_checks import PROTOCOL_VERSION
from .transport import read_with_timeout, write_with_timeout
from .wire_codecs import (
    DECODERS,
    ENCODERS,
    TRANSPORT_ENCODINGS,
    b16decode,
    b16encode,
    b64decode,
    b64encode,
    b85decode,
    b85encode,
)

__all__ = [
    "DECODERS",
    "ENCODERS",
    "OPTION_METHODS",
    "OPTION_TYPES",
    "PROTOCOL_VERSION",
    "TRANSPORT_ENCODINGS",
    "BadArchiveError",
    "BoardNotFoundError",
    "BuildFailedError",
    "ErrorCode",
    "FirmwareTooBigError",
    "GenerateError",
    "HandlerResultError",
    "IoTimeoutError",
    "JSONRPCError",
    "NotBuiltError",
    "NotGeneratedError",
    "ProjectAPIError",
    "ProjectAPIHandler",
    "ProjectAPIServer",
    "ProjectOption",
    "ServerError",
    "ServerInfo",
    "ToolchainMissingError",
    "TransportClosedError",
    "TransportOpenError",
    "TransportTimeouts",
    "UnsafeArchiveError",
    "UnsupportedOptionError",
    "UnsupportedProjectTypeError",
    "UnsupportedTVMVersionError",
    "b16decode",
    "b16encode",
    "b64decode",
    "b64encode",
    "b85decode",
    "b85encode",
    "default_project_options",
    "dumps_compact",
    "loads_line",
    "loads_line_with_data",
    "main",
    "read_with_timeout",
    "write_with_timeout",
]
