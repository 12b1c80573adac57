"""Project options: what a template declares it accepts, checked when it is declared.

An option names the methods that use it (``required``/``optional``), its value type and, where
it has them, its choices and default; ``default_project_options`` gives the options most
templates share.
"""

from __future__ import annotations

import collections

# Methods an option may list in ProjectOption.required / ProjectOption.optional.
OPTION_METHODS = ("generate_project", "generate_library", "build", "flash", "open_transport")

# Option value types a template may declare (the ones TVM's templates use).
OPTION_TYPES = ("bool", "int", "str")

_OPTION_FIELDS = ("name", "choices", "default", "type", "required", "optional", "help")


def _value_matches_type(value: object, type_name: str) -> bool:
    """Whether a JSON value has the declared option type (bool is not an int here)."""
    if type_name == "bool":
        return isinstance(value, bool)
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


class ProjectOption(collections.namedtuple("_ProjectOption", _OPTION_FIELDS)):
    """One option a template declares: ``required``/``optional`` list the methods using it."""

    __slots__ = ()

    def __new__(
        cls,
        name: str,
        choices: list | tuple | None = None,
        default: object = None,
        type: str | None = None,
        required: list | tuple | None = None,
        optional: list | tuple | None = None,
        help: str | None = None,
    ) -> ProjectOption:
        if not isinstance(name, str) or not name:
            raise ValueError("ProjectOption name must be a non-empty string, got %r" % (name,))
        if type not in OPTION_TYPES:
            raise ValueError(
                "ProjectOption %r: type must be one of %s, got %r" % (name, OPTION_TYPES, type)
            )
        if required is None and optional is None:
            raise ValueError(
                "ProjectOption %r: give required=[...] or optional=[...] (methods from %s)"
                % (name, OPTION_METHODS)
            )
        for field, methods in (("required", required), ("optional", optional)):
            if methods is None:
                continue
            unknown = [m for m in methods if m not in OPTION_METHODS]
            if isinstance(methods, str) or unknown:
                raise ValueError(
                    "ProjectOption %r: %s must be a list of methods from %s, got %r"
                    % (name, field, OPTION_METHODS, methods)
                )
        if choices is not None:
            bad = [c for c in choices if not _value_matches_type(c, type)]
            if isinstance(choices, str) or bad:
                raise ValueError(
                    "ProjectOption %r: choices must be a list of %s values, got %r"
                    % (name, type, choices)
                )
        if default is not None:
            if not _value_matches_type(default, type):
                raise ValueError("ProjectOption %r: default %r is not a %s" % (name, default, type))
            if choices is not None and default not in choices:
                raise ValueError(
                    "ProjectOption %r: default %r is not one of choices %r"
                    % (name, default, list(choices))
                )
        return super().__new__(cls, name, choices, default, type, required, optional, help)

    def replace(self, attributes: dict) -> ProjectOption:
        """A copy with the fields in ``attributes`` changed (validated again)."""
        unknown = sorted(set(attributes) - set(_OPTION_FIELDS))
        if unknown:
            raise ValueError(
                "ProjectOption %r: unknown fields %s; fields are %s"
                % (self.name, unknown, _OPTION_FIELDS)
            )
        fields = self._asdict()
        fields.update(attributes)
        return ProjectOption(**fields)


def default_project_options(**overrides: dict) -> list:
    """The options most templates share; each keyword maps an option name to changed fields."""
    options = [
        ProjectOption(
            "verbose",
            optional=["generate_project", "build"],
            type="bool",
            default=False,
            help="Show the commands the build runs and their full output.",
        ),
        ProjectOption(
            "project_type",
            required=["generate_project"],
            type="str",
            help="Kind of project to generate (the template lists its choices).",
        ),
        ProjectOption(
            "board",
            required=["generate_project"],
            type="str",
            help="Board to build for.",
        ),
        ProjectOption(
            "cmsis_path",
            optional=["generate_project"],
            type="str",
            help="Directory of a CMSIS installation.",
        ),
        ProjectOption(
            "compile_definitions",
            optional=["generate_project"],
            type="str",
            help="Extra preprocessor definitions for the project's compilation.",
        ),
        ProjectOption(
            "extra_files_tar",
            optional=["generate_project"],
            type="str",
            help="A tar archive extracted into the generated project.",
        ),
        ProjectOption(
            "warning_as_error",
            optional=["generate_project"],
            type="bool",
            default=False,
            help="Fail the build on compiler warnings.",
        ),
    ]
    unknown = sorted(set(overrides) - {o.name for o in options})
    if unknown:
        raise ValueError(
            "default_project_options: no default options named %s; known: %s"
            % (unknown, [o.name for o in options])
        )
    return [o.replace(overrides[o.name]) if o.name in overrides else o for o in options]
