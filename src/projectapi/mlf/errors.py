"""Errors raised for Model Library Format archives a user supplied or asked to build."""

from __future__ import annotations

from dataclasses import dataclass

from projectapi.errors import ProjectAPIError


class MLFError(ProjectAPIError):
    """The archive cannot be read or used; the message names the member and what is wrong."""


class ParamsFormatError(MLFError):
    """A ``.params`` (NDArray list) blob does not follow the format."""


@dataclass(frozen=True)
class Problem:
    """One broken rule found by validation: the member it concerns and what to fix."""

    member: str
    message: str

    def __str__(self) -> str:
        return f"{self.member}: {self.message}"


class MLFValidationError(MLFError):
    """Validation found problems; ``problems`` lists every one of them."""

    def __init__(self, archive: str, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{archive} is not a valid Model Library Format archive:\n{lines}")
