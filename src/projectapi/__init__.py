"""projectapi: a standalone implementation of the microTVM Project API."""

__version__ = "0.1.0"
