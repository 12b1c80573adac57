"""Template and generated projects: a Project API server behind validated, typed calls.

Options: every call's options are checked against the options the server declares before the
server sees them. Unknown names, values of the wrong type, values outside ``choices`` and
missing ``required`` options are an OptionError listing what is allowed. A value of ``None``
means "not given". Of the given options, only those the server declares for the method being
called (``required`` or ``optional`` naming it) are sent, so one options dict can serve
generate, build, flash and the transport alike. Declared defaults fill in what is not given;
the caller's dict is never modified.

Paths handed to a server are made absolute first, its working directory being the project's: the
MLF, project and runtime paths, and the values of options named `*_tar`, `*_path`, `*_dir` or
`*_file`.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from microtvm_kit import RUNTIME_DIR, runtime_tree
from microtvm_kit.transport import Transport
from projectapi import client as _client
from projectapi import server as _server
from projectapi.build_lock import project_build_lock
from projectapi.errors import ProjectAPIError
from projectapi.mlf.checks import validate as validate_archive

# The TVM release whose Project API this implements; servers may check the version they are
# given, and templates written for TVM accept this one.
TVM_VERSION = "0.14.0"

_PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
_PATH_OPTION_SUFFIXES = ("_tar", "_path", "_dir", "_file")
TEMPLATES_DIR = _PACKAGE_DIR / "templates"
_SERVER_FILE = "microtvm_api_server.py"
_LAUNCHERS = ("launch_microtvm_api_server.sh", "launch_microtvm_api_server.bat")

# Accepted spellings of booleans on the command line (compared lower-case).
_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class ProjectNotFoundError(ProjectAPIError):
    """A directory or template name does not lead to a Project API server."""


class ProjectKindError(ProjectAPIError):
    """A template was needed and a generated project was given, or the other way round."""


class ProjectPathError(ProjectAPIError):
    """A path given for a project call is missing, or exists where it must not."""


class OptionError(ProjectAPIError):
    """Project options do not match what the server declares."""


# --- locating projects ---------------------------------------------------------------------


def builtin_templates() -> list[str]:
    """Names of the templates shipped in the package (folders with a Project API server)."""
    return sorted(
        entry.name
        for entry in TEMPLATES_DIR.iterdir()
        if entry.is_dir() and (entry / _SERVER_FILE).is_file()
    )


def find_project_dir(dir_or_template: str | os.PathLike[str]) -> pathlib.Path:
    """Resolve an existing directory, or else a built-in template name, to an absolute path."""
    candidate = _absolute(dir_or_template)
    if candidate.is_dir():
        if not any((candidate / name).is_file() for name in (_SERVER_FILE, *_LAUNCHERS)):
            raise ProjectNotFoundError(
                f"{candidate} is not a Project API project: it has no {_SERVER_FILE}"
            )
        return candidate
    name = os.fspath(dir_or_template)
    templates = builtin_templates()
    if name in templates:
        return TEMPLATES_DIR / name
    raise ProjectNotFoundError(
        f"{name!r} is neither a project directory nor a built-in template; "
        f"built-in templates: {', '.join(templates)}"
    )


def _absolute(path: str | os.PathLike[str]) -> pathlib.Path:
    """``path`` made absolute against the caller's working directory, with ``~`` expanded."""
    return pathlib.Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


# --- options -------------------------------------------------------------------------------


def describe_option(option: _server.ProjectOption) -> str:
    """One short phrase for an option: its name, type, choices and default."""
    details = [option.type]
    if option.choices:
        details.append("one of " + "|".join(_show(choice) for choice in option.choices))
    if option.default is not None:
        details.append(f"default {_show(option.default)}")
    return f"{option.name} ({', '.join(details)})"


def option_methods(option: _server.ProjectOption) -> tuple[str, ...]:
    """The methods an option is sent to: those its ``required`` or ``optional`` list names."""
    named = {*(option.required or ()), *(option.optional or ())}
    return tuple(method for method in _server.OPTION_METHODS if method in named)


def prepare_options(
    declared: Sequence[_server.ProjectOption], method: str, given: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Validate ``given`` for ``method``; return a new dict of what to send, defaults filled."""
    given = {name: value for name, value in (given or {}).items() if value is not None}
    by_name = {option.name: option for option in declared}
    problems = [
        f"unknown option {name!r}; allowed: {_allowed(declared)}"
        for name in given
        if name not in by_name
    ]
    problems += [
        problem
        for name, value in given.items()
        if name in by_name and (problem := _value_problem(by_name[name], value))
    ]
    to_send: dict[str, Any] = {}
    for option in declared:
        if method not in option_methods(option):
            continue
        if option.name in given:
            to_send[option.name] = _absolute_if_path(option.name, given[option.name])
        elif option.default is not None:
            to_send[option.name] = option.default
        elif method in (option.required or ()):
            problems.append(f"{method} requires option {describe_option(option)}")
    if problems:
        raise OptionError("; ".join(problems))
    return to_send


def _absolute_if_path(name: str, value: Any) -> Any:
    """A path-valued option (named ``*_tar``, ``*_path``, ``*_dir`` or ``*_file``) made absolute.

    A server runs in its project's directory, so a relative path the user typed would resolve
    against the wrong place there.
    """
    if isinstance(value, str) and value and name.endswith(_PATH_OPTION_SUFFIXES):
        return str(_absolute(value))
    return value


def parse_option_strings(
    pairs: Sequence[str], declared: Sequence[_server.ProjectOption]
) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` strings into typed values by each option's declared type.

    The value is everything after the first ``=``, so it may itself contain ``=``.
    """
    by_name = {option.name: option for option in declared}
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise OptionError(f"expected KEY=VALUE, got {pair!r}")
        if name not in by_name:
            raise OptionError(f"unknown option {name!r}; allowed: {_allowed(declared)}")
        if name in values:
            raise OptionError(f"option {name!r} given more than once")
        values[name] = _convert(by_name[name], text)
    return values


def _convert(option: _server.ProjectOption, text: str) -> Any:
    """The value of ``text`` as the option's declared type."""
    try:
        if option.type == "bool":
            return _parse_bool(text)
        if option.type == "int":
            return _parse_int(text)
    except ValueError:
        raise OptionError(
            f"option {option.name!r} expects type {option.type}, got {text!r}"
        ) from None
    return text


def _parse_bool(text: str) -> bool:
    """``true/false``, ``yes/no``, ``on/off``, ``1/0`` (any case) as a bool."""
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(text)


def _parse_int(text: str) -> int:
    """A decimal integer, or one with a 0x/0o/0b prefix."""
    try:
        return int(text, 0)
    except ValueError:
        return int(text, 10)  # leading zeros, as in "08"


def _value_problem(option: _server.ProjectOption, value: Any) -> str | None:
    """What is wrong with ``value`` for ``option`` (type, then choices), or None."""
    python_type = {"bool": bool, "int": int, "str": str}.get(option.type, object)
    if not isinstance(value, python_type) or (isinstance(value, bool) and option.type == "int"):
        return (
            f"option {option.name!r} must be of type {option.type}, "
            f"got {type(value).__name__} {_show(value)}"
        )
    if option.choices and not any(_same(value, choice) for choice in option.choices):
        return (
            f"option {option.name!r} must be one of "
            f"{', '.join(_show(choice) for choice in option.choices)}, got {_show(value)}"
        )
    return None


def _same(a: Any, b: Any) -> bool:
    """Equality that does not confuse True with 1."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _show(value: Any) -> str:
    """A value as a user would type it on the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _allowed(declared: Sequence[_server.ProjectOption]) -> str:
    """The declared options as a comma-separated list, or a note that there are none."""
    return ", ".join(describe_option(option) for option in declared) or "none (no options)"


# --- projects ------------------------------------------------------------------------------


def option_from_wire(raw: Any) -> _server.ProjectOption:
    """A ProjectOption from one entry of a server_info reply (fields we do not know ignored)."""
    try:
        return _server.ProjectOption(
            **{field: raw.get(field) for field in _server.ProjectOption._fields}
        )
    except (AttributeError, TypeError, ValueError) as error:
        raise _client.ProtocolError(
            f"the server declares an invalid option {raw!r}: {error}"
        ) from None


def _server_info(raw: Any) -> _server.ServerInfo:
    """A server_info_query reply as a ServerInfo with ProjectOption objects."""
    try:
        options = raw["project_options"]
        if not isinstance(options, list):
            raise TypeError("project_options is not a list")
        return _server.ServerInfo(
            platform_name=raw["platform_name"],
            is_template=bool(raw["is_template"]),
            model_library_format_path=raw.get("model_library_format_path"),
            project_options=[option_from_wire(entry) for entry in options],
            project_type=raw.get("project_type"),
        )
    except (KeyError, TypeError) as error:
        raise _client.ProtocolError(
            f"the server_info_query reply is malformed ({error}); "
            "run 'projectapi check' on the project for details"
        ) from None


def _names(raw: dict, key: str, default: list[str] | None) -> tuple[str, ...] | None:
    """An extra key of a server_info_query reply that lists names (``default`` when absent)."""
    names = raw.get(key, default)
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(k, str) for k in names):
        raise _client.ProtocolError(
            f"the server_info_query reply's {key!r} is {names!r}, not a list of names"
        )
    return tuple(names)


class _Connection:
    """A launched Project API server for one directory, with its description."""

    def __init__(self, project_dir: pathlib.Path, debug: bool, reply_timeout: float | None) -> None:
        """Launch the server in ``project_dir`` and query what it is."""
        self.project_dir = project_dir
        self.debug = debug
        self.reply_timeout = reply_timeout
        self.api = _client.instantiate_from_dir(
            project_dir, debug=debug, reply_timeout=reply_timeout
        )
        try:
            raw = self.api.server_info_query(TVM_VERSION)
            self.info = _server_info(raw)
            # What it generates (a server that does not say: projects) and, for a generated
            # project, the files flash and open_transport read and those of them it reads only
            # as it starts (None: not said).
            self.generates = _names(raw, "generates", ["project"]) or ()
            self.run_files = _names(raw, "run_files", None)
            self.startup_files = _names(raw, "startup_files", None)
        except BaseException:
            self.api.close()
            raise


_P = TypeVar("_P", bound="_Project")


class _Project:
    """Base of the two project kinds: a server, its description and its declared options."""

    _WANT_TEMPLATE: bool

    def __init__(
        self,
        dir_or_template: str | os.PathLike[str],
        *,
        debug: bool = False,
        reply_timeout: float | None = None,
    ) -> None:
        """Launch the server of a project directory or built-in template and query it.

        ``debug`` makes the server log every request and reply to stderr; ``reply_timeout``
        bounds the wait for any reply (None: a default per method).
        """
        self._conn = _Connection(find_project_dir(dir_or_template), debug, reply_timeout)
        if self.info.is_template != self._WANT_TEMPLATE:
            self.close()
            raise ProjectKindError(
                f"{self.project_dir} is a generated project, not a template; "
                "pass a template directory or a built-in template name"
                if self._WANT_TEMPLATE
                else f"{self.project_dir} is a template, not a generated project; "
                "generate a project from it first (projectapi create)"
            )

    @classmethod
    def _adopt(cls, conn: _Connection) -> _Project:
        """Wrap an already launched server without launching another."""
        project = cls.__new__(cls)
        project._conn = conn
        return project

    @property
    def project_dir(self) -> pathlib.Path:
        """The absolute directory the server runs in."""
        return self._conn.project_dir

    @property
    def info(self) -> _server.ServerInfo:
        """The server's description (server_info_query), options as ProjectOption objects."""
        return self._conn.info

    @property
    def generates(self) -> tuple[str, ...]:
        """What the server generates: ``project`` and, where it offers one, ``library``."""
        return self._conn.generates

    @property
    def options(self) -> list[_server.ProjectOption]:
        """The options the server declares."""
        return list(self._conn.info.project_options)

    @property
    def server_pid(self) -> int | None:
        """The process id of the server this client started (None for one it did not)."""
        process = self._conn.api.server_process
        return None if process is None else process.pid

    def server_running(self) -> bool:
        """The server process this client started has not exited (True for one it did not
        start: nothing says otherwise)."""
        process = self._conn.api.server_process
        return process is None or process.wait(0) is None

    def _options_for(self, method: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validated options to send with ``method``."""
        return prepare_options(self._conn.info.project_options, method, options)

    def close(self) -> None:
        """Stop the server process (idempotent)."""
        self._conn.api.close()

    def __enter__(self: _P) -> _P:
        """Use the project in a ``with`` block that stops its server at the end."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server."""
        self.close()


def open_project(
    dir_or_template: str | os.PathLike[str],
    *,
    debug: bool = False,
    reply_timeout: float | None = None,
) -> TemplateProject | GeneratedProject:
    """Open whatever kind of project ``dir_or_template`` is, as its server says."""
    conn = _Connection(find_project_dir(dir_or_template), debug, reply_timeout)
    kind = TemplateProject if conn.info.is_template else GeneratedProject
    return kind._adopt(conn)


class TemplateProject(_Project):
    """A template: something to generate projects from."""

    _WANT_TEMPLATE = True

    def generate_project(
        self,
        mlf_path: str | os.PathLike[str],
        project_dir: str | os.PathLike[str],
        options: Mapping[str, Any] | None = None,
        standalone_crt_dir: str | os.PathLike[str] | None = None,
    ) -> GeneratedProject:
        """Generate a new project for a Model Library Format archive and open it.

        ``standalone_crt_dir`` defaults to the runtime shipped in this package: as it is for the
        built-in templates, in TVM's standalone layout for any other template (what TVM hands
        every template, and what templates written for TVM expect).
        """
        mlf, target = _generate_paths(mlf_path, project_dir, "project")
        options = self._options_for("generate_project", options)
        with self._generating(target, standalone_crt_dir) as crt:
            self._conn.api.generate_project(
                model_library_format_path=str(mlf),
                standalone_crt_dir=str(crt),
                project_dir=str(target),
                options=options,
            )
            return GeneratedProject(
                target, debug=self._conn.debug, reply_timeout=self._conn.reply_timeout
            )

    @contextlib.contextmanager
    def _generating(
        self, target: pathlib.Path, standalone_crt_dir: str | os.PathLike[str] | None
    ) -> Iterator[pathlib.Path]:
        """The runtime to hand the server while it generates ``target``; interrupted (Ctrl-C,
        SIGTERM), the server is stopped and ``target`` removed, so nothing is left."""
        with contextlib.ExitStack() as stack:
            if standalone_crt_dir is not None:
                crt = _absolute(standalone_crt_dir)
            else:
                crt = stack.enter_context(_default_runtime(self.project_dir))
            if not crt.is_dir():
                raise ProjectPathError(f"standalone CRT directory {crt} is not a directory")
            try:
                yield crt
            except (KeyboardInterrupt, SystemExit):
                # Stop the server first (it may be writing), then remove what it made; the
                # directory did not exist before the call.
                self.close()
                shutil.rmtree(target, ignore_errors=True)
                raise

    def generate_library(
        self,
        mlf_path: str | os.PathLike[str],
        library_dir: str | os.PathLike[str],
        options: Mapping[str, Any] | None = None,
        standalone_crt_dir: str | os.PathLike[str] | None = None,
    ) -> pathlib.Path:
        """Generate a library for a Model Library Format archive; return its directory.

        Refused (ProjectKindError) when the template's server generates projects only.
        """
        if "library" not in self.generates:
            raise ProjectKindError(
                f"template {self.project_dir} generates {', '.join(self.generates)} only, "
                "not libraries; choose a template whose 'projectapi info' lists library"
            )
        mlf, target = _generate_paths(mlf_path, library_dir, "library")
        options = self._options_for("generate_library", options)
        with self._generating(target, standalone_crt_dir) as crt:
            self._conn.api.generate_library(
                model_library_format_path=str(mlf),
                standalone_crt_dir=str(crt),
                library_dir=str(target),
                options=options,
            )
        return target


def _generate_paths(
    mlf_path: str | os.PathLike[str], out_dir: str | os.PathLike[str], kind: str
) -> tuple[pathlib.Path, pathlib.Path]:
    """(archive, new ``kind`` directory) as absolute paths, checked before generating.

    The archive is validated here, before any template sees it: even a copying one refuses a
    bad archive.
    """
    mlf = _absolute(mlf_path)
    if not mlf.is_file():
        raise ProjectPathError(f"model library format archive {mlf} is not a file")
    validate_archive(mlf)
    target = _absolute(out_dir)
    if target.exists() or target.is_symlink():
        raise ProjectPathError(
            f"{kind} directory {target} already exists; choose a new path or remove it"
        )
    return mlf, target


@contextlib.contextmanager
def _default_runtime(template_dir: pathlib.Path) -> Iterator[pathlib.Path]:
    """The runtime handed to a template by default (see ``TemplateProject.generate_project``)."""
    if template_dir.resolve().is_relative_to(TEMPLATES_DIR.resolve()):
        yield RUNTIME_DIR
        return
    with tempfile.TemporaryDirectory(prefix="projectapi-runtime-") as temporary:
        runtime = pathlib.Path(temporary, "standalone_crt")
        runtime_tree.export(runtime, "tvm")
        yield runtime


class GeneratedProject(_Project):
    """A generated project: something to build, flash and talk to."""

    _WANT_TEMPLATE = False

    @property
    def run_files(self) -> tuple[str, ...] | None:
        """Glob patterns of the files flash and open_transport read once built (what a built
        project must keep to be flashed elsewhere); None when the server does not say."""
        return self._conn.run_files

    @property
    def startup_files(self) -> tuple[str, ...] | None:
        """Glob patterns of the run files the server reads only as it starts; it reads the
        others at each flash and open_transport call, so they may be replaced between calls
        with the server kept. None when the server makes no such promise."""
        return self._conn.startup_files

    def build(self, options: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """Build the project (one build of it at a time); the server's output goes to stderr.

        Returns the memory report the template gives (our templates: text/data/bss bytes and,
        for boards, the use against the flash and RAM limits), or None if it gives none.
        """
        to_send = self._options_for("build", options)
        with project_build_lock(self.project_dir):
            report = self._conn.api.build(options=to_send)
        return report if isinstance(report, dict) else None

    def flash(self, options: Mapping[str, Any] | None = None) -> None:
        """Flash the built project onto its device."""
        self._conn.api.flash(options=self._options_for("flash", options))

    def transport(self, options: Mapping[str, Any] | None = None) -> ProjectTransport:
        """A transport to the device, validated now and opened by ``open`` or ``with``."""
        return ProjectTransport(self._conn.api, self._options_for("open_transport", options))


class ProjectTransport(Transport):
    """Bytes to and from a generated project's device, through its server.

    Follows the transport contract of ``microtvm_kit.transport`` (the server's transport
    enforces the timeouts). Failures are the client's errors; a transport timeout or closed
    transport raise ``server.IoTimeoutError`` and ``server.TransportClosedError`` (rebuilt by
    the client), as a device session expects.
    """

    def __init__(self, api: _client.ProjectAPIClient, options: dict[str, Any]) -> None:
        """Hold validated ``open_transport`` options for ``open``."""
        self._api = api
        self._options = options
        self._timeouts: _server.TransportTimeouts | None = None

    @property
    def timeouts(self) -> _server.TransportTimeouts:
        """The session timeouts the server gave when the transport was opened."""
        if self._timeouts is None:
            raise ProjectAPIError("the transport is not open; call open() first")
        return self._timeouts

    def open(self) -> _server.TransportTimeouts:
        """Open the transport and return the session timeouts the server asks for."""
        reply = self._api.open_transport(options=self._options)
        try:
            self._timeouts = _server.TransportTimeouts(**reply["timeouts"])
        except (KeyError, TypeError) as error:
            raise _client.ProtocolError(
                f"open_transport replied {reply!r}, not {{'timeouts': {{...}}}} ({error})"
            ) from None
        return self._timeouts

    def close(self) -> None:
        """Close the transport if it is open."""
        if self._timeouts is not None:
            self._timeouts = None
            self._api.close_transport()

    def read(self, n: int, timeout_sec: float | None) -> bytes:
        """Return 1 to ``n`` bytes, waiting at most ``timeout_sec`` (None: without limit)."""
        return self._api.read_transport(n, timeout_sec)["data"]

    def write(self, data: bytes, timeout_sec: float | None) -> None:
        """Send all of ``data``, waiting at most ``timeout_sec`` (None: without limit)."""
        self._api.write_transport(data, timeout_sec)

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        """Close the transport; if the block failed, a failing close does not hide why."""
        if exc_type is None:
            self.close()
        else:
            with contextlib.suppress(ProjectAPIError):
                self.close()
