"""The base of every error a user can cause and fix; the CLI prints these as one clear line.

It is the base of the project-side error hierarchy (``microtvm_kit.errors``) too, so an error a
template raises and the client rebuilds on the host is caught as a ProjectAPIError as well.
"""

from microtvm_kit.errors import ProjectAPIError

__all__ = ["ProjectAPIError", "ProtocolError"]


class ProtocolError(ProjectAPIError):
    """A peer (a Project API server or a device) sent something that breaks its protocol."""
