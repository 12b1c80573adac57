"""The rules every firmware template shares: its options (as data), their checks, and the
steps of generate_project around a template's own sources.

A template subclasses ``FirmwareTemplate`` and fills in what differs: its folder, its extra
options, which runtime components and sources each project type needs, and the lines it adds
to ``config.cmake``. Standard library only, Python 3.8+.
"""

from __future__ import annotations

import json
import pathlib
import shlex
import shutil
import sys
from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Sequence

from microtvm_kit import FIRMWARE_C_DIR, errors, is_generated_project, server, staging

if TYPE_CHECKING:  # imported where used: a server serving flash and run never loads them
    from microtvm_kit import generate, model_glue

GENERATE = ["generate_project"]
GENERATE_BOTH = ["generate_project", "generate_library"]  # options a library uses as well
PROJECT_TYPES = ("aot_standalone", "host_driven")
MIN_WORKSPACE_BYTES = 1024
MLF_NAME = "model.tar"
SETTINGS_NAME = "project.json"  # the generate-time options a generated project keeps
# What a generated project's server reads to serve flash and open_transport: its code, its
# settings and data (JSON), the model; a template's RUN_FILES adds its build's output.
SERVER_FILES = ("*.py", "*.json", MLF_NAME)
# Of those, what a server reads only as it starts: its code and its boards table (the rest it
# reads at each call, so they may be replaced under a running server: ``STARTUP_FILES``).
STARTUP_FILES = ("*.py", "boards.json")
# Runtime components per need (``src/<component>`` of the runtime).
BASE_COMPONENTS = ["common", "memory"]
RPC_COMPONENTS = [
    "microtvm_rpc_server",
    "microtvm_rpc_common",
    "aot_executor_module",
    "aot_executor",
]
GRAPH_COMPONENTS = {
    "aot_standalone": ["graph_executor"],
    "host_driven": ["graph_executor", "graph_executor_module"],
}
# The main loop of each project type (shared C sources in ``microtvm_kit/c``, copied to ``c/``).
LOOPS = {"aot_standalone": "c/standalone_loop.c", "host_driven": "c/host_driven_loop.c"}
# Definition that makes the host-driven loop register ``tvm.graph_executor.create``.
GRAPH_EXECUTOR_DEFINITION = "PROJECTAPI_GRAPH_EXECUTOR=1"

# The options of every firmware template; a template replaces the fields that differ.
_SHARED_OPTIONS = {
    "project_type": dict(
        choices=list(PROJECT_TYPES),
        default="aot_standalone",
        type="str",
        optional=GENERATE,
        help="aot_standalone: the firmware runs the model on request (standalone link "
        "protocol); host_driven: it is a microTVM RPC device. AOT and graph models both.",
    ),
    "verbose": dict(
        type="bool",
        default=False,
        optional=["build"],
        help="Show the full compiler command lines while building.",
    ),
    "workspace_size_bytes": dict(
        type="int",
        optional=GENERATE_BOTH,
        help="Bytes of memory the runtime platform may allocate.",
    ),
    "compile_definitions": dict(
        type="str",
        default="",
        optional=GENERATE_BOTH,
        help="Extra preprocessor definitions, e.g. '-DFOO=1 -DBAR'.",
    ),
    "extra_files_tar": dict(
        type="str",
        default="",
        optional=GENERATE_BOTH,
        help="A tar archive whose files are added to the project.",
    ),
    "warning_as_error": dict(
        type="bool",
        default=False,
        optional=GENERATE_BOTH,
        help="Build with -Werror (known diagnostics of generated code excepted).",
    ),
}


# Session timeouts of host-driven firmware. A device answers a session start within milliseconds
# (a child process at once, QEMU within ~30 ms), so an attempt without reply is retried after 2 s
# and abandoned after 10 s. An established session allows 60 s per reply: one inference of any
# model a template can hold, even emulated under -icount over a ~20 KiB/s UART.
SESSION_TIMEOUTS = server.TransportTimeouts(
    session_start_retry_timeout_sec=2.0,
    session_start_timeout_sec=10.0,
    session_established_timeout_sec=60.0,
)


def project_options(
    changes: Dict[str, Dict[str, Any]], extra: Sequence[server.ProjectOption] = ()
) -> List[server.ProjectOption]:
    """The shared options with ``changes`` applied per option, then the template's ``extra``."""
    shared = [
        server.ProjectOption(name, **dict(fields, **changes.get(name, {})))
        for name, fields in _SHARED_OPTIONS.items()
    ]
    return shared + list(extra)


def cmake_quote(text: str) -> str:
    """``text`` as one quoted CMake argument."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped + '"'


def cmake_set(name: str, items: Sequence[str]) -> str:
    """A CMake ``set()`` of quoted items."""
    return "set({} {})".format(name, " ".join(cmake_quote(item) for item in items))


def user_definitions(text: str) -> List[str]:
    """``compile_definitions`` (``-DX=1 Y``) as NAME[=VALUE] items."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise errors.UnsupportedOptionError(
            "compile_definitions cannot be parsed: {}".format(error)
        ) from None
    items = [word[2:] if word.startswith("-D") else word for word in words]
    if any(not item or item.startswith("-") for item in items):
        raise errors.UnsupportedOptionError(
            "compile_definitions must be words like -DNAME or -DNAME=VALUE, got {!r}".format(text)
        )
    return items


# A value outside an option's choices is UnsupportedOptionError; for these options, its subclass.
_CHOICE_ERRORS = {
    "board": errors.BoardNotFoundError,
    "project_type": errors.UnsupportedProjectTypeError,
}


def check_options(
    options: Dict[str, Any], declared: Sequence[server.ProjectOption]
) -> Dict[str, Any]:
    """Defaults filled in (without touching the caller's dict) and values checked."""
    merged = {option.name: option.default for option in declared}
    merged.update({key: value for key, value in options.items() if value is not None})
    for option in declared:
        if option.choices and merged.get(option.name) not in option.choices:
            raise _CHOICE_ERRORS.get(option.name, errors.UnsupportedOptionError)(
                "{} must be one of {}, got {!r}".format(
                    option.name, ", ".join(map(str, option.choices)), merged.get(option.name)
                )
            )
    workspace = merged.get("workspace_size_bytes")
    if workspace is not None and int(workspace) < MIN_WORKSPACE_BYTES:
        raise errors.UnsupportedOptionError(
            "workspace_size_bytes must be at least {}, got {}".format(
                MIN_WORKSPACE_BYTES, workspace
            )
        )
    user_definitions(merged["compile_definitions"])
    return merged


def runtime_components(project_type: str, model: model_glue.ModelInfo) -> List[str]:
    """The runtime components (besides the platform) a project type needs for ``model``."""
    components = list(BASE_COMPONENTS)
    if project_type == "host_driven":
        components += RPC_COMPONENTS
    if model.graph is not None:
        components += GRAPH_COMPONENTS[project_type]
    return components


def crt_config(project_type: str, model: model_glue.ModelInfo) -> Dict[str, int]:
    """``crt_config.h`` overrides: a host-driven graph model's JSON must fit one message."""
    if project_type == "host_driven" and model.graph is not None:
        return {"TVM_CRT_MAX_PACKET_SIZE_BYTES": model.graph.packet_bytes}
    return {}


class FirmwareTemplate(server.ProjectAPIHandler):
    """generate_project and the project's settings for a template that builds firmware.

    Subclasses set ``PLATFORM`` and ``TEMPLATE_DIR`` and implement the hooks below.
    """

    PLATFORM = ""
    TEMPLATE_DIR = pathlib.Path()
    OPTIONS: ClassVar[List[server.ProjectOption]] = []

    @property
    def is_template(self) -> bool:
        """True in the template folder, False in a generated project."""
        return not is_generated_project(self.TEMPLATE_DIR)

    def server_info_query(self, tvm_version: str) -> server.ServerInfo:
        """Describe this template or generated project."""
        return server.ServerInfo(
            platform_name=self.PLATFORM,
            is_template=self.is_template,
            model_library_format_path=None
            if self.is_template
            else str(self.TEMPLATE_DIR / MLF_NAME),
            project_options=self.OPTIONS,
            project_type=None if self.is_template else self.settings()["project_type"],
        )

    # Hooks ---------------------------------------------------------------------------------

    def check_settings(self, settings: Dict[str, Any]) -> None:
        """Check the template's own options (the shared ones are checked already)."""

    def complete_settings(self, settings: Dict[str, Any], model: model_glue.ModelInfo) -> None:
        """Fill in settings whose default depends on the model."""

    def platform_components(self) -> List[str]:
        """Runtime components of the platform layer (e.g. ``platform/posix``)."""
        return []

    def write_sources(self, settings: Dict[str, Any], stage: pathlib.Path) -> List[str]:
        """Copy the template's own sources into ``stage``; return the program's sources."""
        raise NotImplementedError

    def definitions(self, settings: Dict[str, Any]) -> List[str]:
        """The template's own preprocessor definitions (NAME[=VALUE])."""
        return []

    def cmake_lines(self, settings: Dict[str, Any]) -> List[str]:
        """The template's own lines of ``config.cmake`` (at least ``PROJECTAPI_C_FLAGS``)."""
        raise NotImplementedError

    # generate_project ----------------------------------------------------------------------

    def generate_project(
        self,
        model_library_format_path: pathlib.Path,
        standalone_crt_dir: pathlib.Path,
        project_dir: pathlib.Path,
        options: Dict[str, Any],
    ) -> None:
        """Create ``project_dir`` (which must not exist) holding a buildable project."""
        from microtvm_kit import generate, model_glue

        settings = check_options(options, self.OPTIONS)
        self.check_settings(settings)
        project_type = settings["project_type"]
        with staging.staged_directory(pathlib.Path(project_dir)) as stage:
            generate.copy_helpers(self.TEMPLATE_DIR / "microtvm_api_server.py", stage)
            model_dir = generate.install_model(pathlib.Path(model_library_format_path), stage)
            model = model_glue.read_model(model_dir)
            self.complete_settings(settings, model)
            runtime = generate.copy_runtime(
                str(standalone_crt_dir) if standalone_crt_dir else None,
                model_dir,
                stage,
                runtime_components(project_type, model) + self.platform_components(),
            )
            generate.write_crt_config(
                stage / "crt_config" / "crt_config.h", **crt_config(project_type, model)
            )
            glue = model_glue.write_glue(model, stage / "glue", project_type)
            self._write_cmake_project(settings, model, glue, runtime, stage)
            (stage / SETTINGS_NAME).write_text(json.dumps(settings, indent=2) + "\n")
            generate.write_runtime_record(stage, runtime)
            generate.extract_extra_files(settings["extra_files_tar"], stage)
        self.log(
            "generated {} project for {} model '{}' ({} interface{}) in {}".format(
                project_type,
                "a graph" if model.graph is not None else "an AOT",
                model.name,
                model.interface,
                ", system library" if model.has_system_lib else "",
                project_dir,
            )
        )
        self.log("runtime: " + runtime.describe())

    def _write_cmake_project(
        self,
        settings: Dict[str, Any],
        model: model_glue.ModelInfo,
        glue: List[pathlib.Path],
        runtime: generate.CopiedRuntime,
        stage: pathlib.Path,
    ) -> None:
        """Copy the shared C sources and the template's own; write ``config.cmake``."""
        project_type = settings["project_type"]
        (stage / "c").mkdir()
        for path in FIRMWARE_C_DIR.iterdir():
            if path.suffix in (".c", ".h", ".cmake"):
                shutil.copy2(str(path), str(stage / "c" / path.name))
        sources = [*self.write_sources(settings, stage), LOOPS[project_type]]
        glue_sources = [path.relative_to(stage).as_posix() for path in glue]
        workspace = "TVM_WORKSPACE_SIZE_BYTES={}".format(settings["workspace_size_bytes"])
        definitions = list(self.definitions(settings))
        if project_type == "host_driven" and model.graph is not None:
            definitions.append(GRAPH_EXECUTOR_DEFINITION)
        # The runtime sees the user's definitions, and the pool size only when its platform
        # layer allocates from it; the rest would only make cached runtime libraries miss.
        crt_definitions = user_definitions(settings["compile_definitions"])
        if self.platform_components():
            crt_definitions.insert(0, workspace)
        else:
            definitions.append(workspace)
        lines = config_cmake_sources(self.PLATFORM, sources, glue_sources, model, runtime, stage)
        lines += [
            cmake_set("PROJECTAPI_CRT_DEFINITIONS", crt_definitions),
            cmake_set("PROJECTAPI_DEFINITIONS", definitions),
            "set(PROJECTAPI_WERROR {})".format("ON" if settings["warning_as_error"] else "OFF"),
            *self.cmake_lines(settings),
            "",
        ]
        (stage / "config.cmake").write_text("\n".join(lines))

    def settings(self) -> Dict[str, Any]:
        """The generate-time options of this project; refused in the template itself."""
        if self.is_template:
            raise errors.NotGeneratedError(
                "this is the {} template; generate a project from it first".format(self.PLATFORM)
            )
        return json.loads((self.TEMPLATE_DIR / SETTINGS_NAME).read_text())

    def log(self, message: str) -> None:
        """Say what a project call did on stderr, which the client streams to the user."""
        print("{}: {}".format(self.PLATFORM, message), file=sys.stderr, flush=True)


def config_cmake_sources(
    platform: str,
    sources: List[str],
    glue_sources: List[str],
    model: model_glue.ModelInfo,
    runtime: generate.CopiedRuntime,
    project_dir: pathlib.Path,
) -> List[str]:
    """The source lists of ``config.cmake`` (and whether the runtime needs C++)."""
    components = {name.replace("/", "_"): files for name, files in runtime.sources.items()}
    lines = [
        "# Generated by the {} template's generate_project; edit the project options "
        "instead.".format(platform),
        cmake_set("PROJECTAPI_KIT_SOURCES", sources),
        cmake_set("PROJECTAPI_GLUE_SOURCES", glue_sources),
        cmake_set(
            "PROJECTAPI_MODEL_SOURCES",
            [p.relative_to(project_dir).as_posix() for p in model.sources],
        ),
        cmake_set("PROJECTAPI_CRT_COMPONENTS", list(components)),
        "set(PROJECTAPI_CRT_CXX {})".format("ON" if runtime.has_cxx else "OFF"),
    ]
    lines += [
        cmake_set("PROJECTAPI_CRT_SOURCES_" + name, files) for name, files in components.items()
    ]
    return lines
