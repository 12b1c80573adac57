"""The one error the archive reader raises."""


class ArchiveFormatError(ValueError):
    """A model archive (or one of its members) breaks its format; the message names the member."""
