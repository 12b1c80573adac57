"""The base of every error a user can cause and fix; the CLI prints these as one clear line."""


class ProjectAPIError(Exception):
    """An error whose message names what the user should fix."""
