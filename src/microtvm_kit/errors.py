"""Every error the project side raises, in one hierarchy that crosses the Project API wire.

``ProjectAPIError`` is the base of every error a user can cause and fix (the host's CLI prints
it as one line). ``JSONRPCError`` is an error reply; ``ServerError`` is what a handler raises: the
server sends it as SERVER_ERROR with the class name as message and the traceback as data, and the
host's client raises the class of that name again (``WIRE_ERRORS``). The first four server
errors are the ones TVM's server defines, with TVM's names, so TVM's client recognises them.
"""

from __future__ import annotations

import enum


class ProjectAPIError(Exception):
    """An error whose message names what the user should fix."""


class JSONRPCError(ProjectAPIError):
    """An error reply: a JSON-RPC 2.0 error code, a message and optional data."""

    class ErrorCode(enum.IntEnum):
        """Error codes of JSON-RPC 2.0 (and the one server-defined code the protocol uses)."""

        PARSE_ERROR = -32700
        INVALID_REQUEST = -32600
        METHOD_NOT_FOUND = -32601
        INVALID_PARAMS = -32602
        INTERNAL_ERROR = -32603
        SERVER_ERROR = -32000

    def __init__(
        self, code: int, message: str, data: object = None, client_context: object = None
    ) -> None:
        super().__init__(code, message, data)
        self.code = code
        self.message = message
        self.data = data
        self.client_context = client_context  # what the client was doing, for its messages

    def __str__(self) -> str:
        return str(self.message)

    def to_json(self) -> dict:
        """The ``error`` member of a reply."""
        return {"code": int(self.code), "message": self.message, "data": self.data}


ErrorCode = JSONRPCError.ErrorCode


class ServerError(JSONRPCError):
    """An exception raised by the handler, sent as SERVER_ERROR named by its class.

    ``message`` is the text for the user (the class name when not given); on the wire the
    message is the class name and the text travels as the last line of ``data.traceback``.
    """

    @classmethod
    def from_exception(cls, exc: BaseException, **kw: object) -> ServerError:
        """A ServerError for ``exc``: message is the exception class name, data its traceback."""
        import traceback  # only on the error path: keeps server start-up fast

        kw.setdefault("message", type(exc).__name__)
        error = cls(**kw)  # type: ignore[arg-type]
        error.set_traceback("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        return error

    def __init__(
        self, message: str | None = None, data: dict | None = None, client_context: object = None
    ) -> None:
        super().__init__(
            ErrorCode.SERVER_ERROR,
            type(self).__name__ if message is None else message,
            {} if data is None else data,
            client_context,
        )

    def set_traceback(self, traceback: str) -> None:
        """Attach the server-side traceback text sent as ``data.traceback``."""
        if not isinstance(self.data, dict):
            self.data = {}
        self.data["traceback"] = traceback


# ---- the transport (names as TVM's) ----------------------------------------------------------


class TransportClosedError(ServerError):
    """The transport's other end closed (EOF, closed pipe, device gone), or it is not open."""


class IoTimeoutError(ServerError):
    """A transport read or write did not complete within its timeout."""


class UnsupportedTVMVersionError(ServerError):
    """The server cannot work with the client's TVM version."""


class TransportOpenError(ServerError):
    """The transport could not be opened (the emulator or device program did not start)."""


# ---- the server itself -----------------------------------------------------------------------


class HandlerResultError(ServerError):
    """The handler returned a value of the wrong type for its method."""


# ---- project calls ---------------------------------------------------------------------------


class UnsupportedOptionError(ServerError, ValueError):
    """An option value the template cannot use; the message says which values it can."""


class UnsupportedProjectTypeError(UnsupportedOptionError):
    """The template cannot make this project type for this model or board."""


class BoardNotFoundError(UnsupportedOptionError):
    """The board named is not one the template knows (or no such device is attached)."""


class BadArchiveError(ServerError, ValueError):
    """The model archive cannot be used: missing, not a tar, unsafe, or lacking what is needed."""


class UnsafeArchiveError(BadArchiveError):
    """A tar archive breaks an extraction rule (path, link, size); the message names the member."""


class GenerateError(ServerError, ValueError):
    """A generate step cannot proceed; the message names the input to fix."""


class ToolchainMissingError(ServerError):
    """A compiler, C library, build tool or emulator the project needs is not installed."""


class BuildFailedError(ServerError):
    """The build failed; the message quotes the first error line."""


class FirmwareTooBigError(BuildFailedError):
    """The built firmware does not fit the board's memory; the message gives the sizes."""


class NotGeneratedError(ServerError):
    """A call needs a generated project and was made on the template itself."""


class NotBuiltError(ServerError):
    """A call needs the built project (flash, open_transport) and there is none yet."""


class FlashError(ServerError):
    """Writing the image to a board failed; the message holds the flash tool's own words."""


class NoProbeError(FlashError):
    """The flash tool found no debug probe attached."""


class FlashToolMissingError(ToolchainMissingError):
    """The flash tool (pyOCD, OpenOCD) is not installed; the message says how to install it."""


# The errors a client rebuilds by the name in a SERVER_ERROR reply.
WIRE_ERRORS = {
    cls.__name__: cls
    for cls in (
        TransportClosedError,
        IoTimeoutError,
        UnsupportedTVMVersionError,
        TransportOpenError,
        HandlerResultError,
        UnsupportedOptionError,
        UnsupportedProjectTypeError,
        BoardNotFoundError,
        BadArchiveError,
        UnsafeArchiveError,
        GenerateError,
        ToolchainMissingError,
        BuildFailedError,
        FirmwareTooBigError,
        NotGeneratedError,
        NotBuiltError,
        FlashError,
        NoProbeError,
        FlashToolMissingError,
    )
}
