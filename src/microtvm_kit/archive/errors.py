"""The one error the archive reader raises."""

from ..errors import BadArchiveError


class ArchiveFormatError(BadArchiveError):
    """A model archive (or one of its members) breaks its format; the message names the member."""
