"""The host template: TVM AOT models built with gcc and cmake into a POSIX program.

Project types: ``aot_standalone`` (the program runs the model on request, over the standalone
link protocol on its stdin/stdout, or directly with ``--input``/``--output``/``--repeat``) and
``host_driven`` (the program is a microTVM device: its stdin/stdout carry the RPC session).
generate_project copies this server, ``server.py``, the ``microtvm_kit`` package, the MLF
(``model.tar``, extracted to ``model/``), the runtime, the sources and a CMake project.
"""

import json
import pathlib
import shlex
import shutil
import sys
from typing import Any, Dict, List, Optional

_HERE = pathlib.Path(__file__).resolve().parent
if not (_HERE / "server.py").is_file():  # the template folder inside the projectapi package
    sys.path[:0] = [str(_HERE.parent.parent), str(_HERE.parent)]
import server  # noqa: E402
from microtvm_kit import cmake_build, generate, model_glue, process_transport, staging  # noqa: E402

_IS_TEMPLATE = not (_HERE / "server.py").is_file()
_MLF_NAME = "model.tar"
_SETTINGS_NAME = "project.json"  # the generate-time options a generated project keeps
_BUILD_DIR = "build"
_PROGRAM = "main"
# Shared firmware sources: beside the template folder in the package, copied into projects.
_SHARED_C_DIR = _HERE.parent / "c"

_PROJECT_TYPES = ("aot_standalone", "host_driven")
_RPC_COMPONENTS = [
    "microtvm_rpc_server",
    "microtvm_rpc_common",
    "aot_executor_module",
    "aot_executor",
]
_BASE_COMPONENTS = ["common", "memory", "platform/posix"]
# Sources of the program per project type, relative to the project directory.
_PROGRAM_SOURCES = {
    "aot_standalone": [
        "src/main_standalone.c",
        "src/port_posix.c",
        "src/npy_io.c",
        "c/standalone_loop.c",
        "glue/model_glue.c",
    ],
    "host_driven": ["src/main_host_driven.c", "src/port_posix.c", "c/host_driven_loop.c"],
}
# Memory the POSIX platform hands out through TVMPlatformMemoryAllocate (TVM's host default).
_DEFAULT_WORKSPACE_BYTES = 2 * 1024 * 1024

_GENERATE = ["generate_project"]
_OPTIONS = [
    server.ProjectOption(
        "project_type",
        choices=list(_PROJECT_TYPES),
        default="aot_standalone",
        type="str",
        optional=_GENERATE,
        help="aot_standalone: the program runs the model on request; "
        "host_driven: the program is a microTVM RPC device.",
    ),
    server.ProjectOption(
        "verbose",
        type="bool",
        default=False,
        optional=["build"],
        help="Show the full compiler command lines while building.",
    ),
    server.ProjectOption(
        "workspace_size_bytes",
        type="int",
        default=_DEFAULT_WORKSPACE_BYTES,
        optional=_GENERATE,
        help="Bytes of memory the runtime platform may allocate (workspaces, "
        "RPC buffers, executor tensors).",
    ),
    server.ProjectOption(
        "compile_definitions",
        type="str",
        default="",
        optional=_GENERATE,
        help="Extra preprocessor definitions, e.g. '-DFOO=1 -DBAR'.",
    ),
    server.ProjectOption(
        "extra_files_tar",
        type="str",
        default="",
        optional=_GENERATE,
        help="A tar archive whose files are added to the project.",
    ),
    server.ProjectOption(
        "warning_as_error",
        type="bool",
        default=False,
        optional=_GENERATE,
        help="Build with -Werror (known diagnostics of generated code excepted).",
    ),
    server.ProjectOption(
        "build_type",
        choices=["release", "debug"],
        default="release",
        type="str",
        optional=_GENERATE,
        help="release: -O2; debug: -O0 -g.",
    ),
    server.ProjectOption(
        "cc",
        type="str",
        default="",
        optional=_GENERATE,
        help="C compiler to use instead of CMake's default.",
    ),
    server.ProjectOption(
        "cflags",
        type="str",
        default="",
        optional=_GENERATE,
        help="Extra C compiler flags for every source.",
    ),
]
_DEFAULTS = {option.name: option.default for option in _OPTIONS}

# Session timeouts for host_driven: the child answers at once, so a start attempt that gets no
# reply within 2 s is retried, and gives up after 10 s. An established session allows 60 s per
# reply, enough for one inference of any model this template can hold.
_TIMEOUTS = server.TransportTimeouts(
    session_start_retry_timeout_sec=2.0,
    session_start_timeout_sec=10.0,
    session_established_timeout_sec=60.0,
)


def _cmake_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped + '"'


def _cmake_list(name: str, items: List[str]) -> str:
    return "set({} {})".format(name, " ".join(_cmake_quote(item) for item in items))


def _definitions(text: str, workspace_bytes: int) -> List[str]:
    """Preprocessor definitions from the option (``-DX=1 Y``) plus the workspace size."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise ValueError("compile_definitions cannot be parsed: {}".format(error)) from None
    items = [word[2:] if word.startswith("-D") else word for word in words]
    if any(not item or item.startswith("-") for item in items):
        raise ValueError(
            "compile_definitions must be words like -DNAME or -DNAME=VALUE, got {!r}".format(text)
        )
    return ["TVM_WORKSPACE_SIZE_BYTES={}".format(workspace_bytes), *items]


def _config_cmake(
    options: Dict[str, Any],
    model: model_glue.ModelInfo,
    glue: List[pathlib.Path],
    crt_sources: Dict[str, List[str]],
    project_dir: pathlib.Path,
) -> str:
    """The generated half of the CMake project: source lists and flags."""
    project_type = options["project_type"]
    program = list(_PROGRAM_SOURCES[project_type])
    program += [p.relative_to(project_dir).as_posix() for p in glue if p.name != "model_glue.c"]
    components = [name.replace("/", "_") for name in crt_sources]
    lines = [
        "# Generated by the host template's generate_project; edit the project options instead.",
        _cmake_list("PROJECTAPI_MAIN_SOURCES", program),
        _cmake_list(
            "PROJECTAPI_MODEL_SOURCES",
            [p.relative_to(project_dir).as_posix() for p in model.sources],
        ),
        _cmake_list(
            "PROJECTAPI_MODEL_INCLUDE_DIRS",
            ["${CMAKE_CURRENT_SOURCE_DIR}/model/codegen/host/include"],
        ).replace("\\$", "$"),
        _cmake_list("PROJECTAPI_CRT_COMPONENTS", components),
    ]
    for name, files in crt_sources.items():
        lines.append(_cmake_list("PROJECTAPI_CRT_SOURCES_" + name.replace("/", "_"), files))
    lines += [
        "set(PROJECTAPI_C_FLAGS {})".format(_cmake_quote(options["cflags"])),
        _cmake_list(
            "PROJECTAPI_DEFINITIONS",
            _definitions(options["compile_definitions"], options["workspace_size_bytes"]),
        ),
        "set(PROJECTAPI_WERROR {})".format("ON" if options["warning_as_error"] else "OFF"),
        "",
    ]
    return "\n".join(lines)


def _checked_options(options: Dict[str, Any]) -> Dict[str, Any]:
    """Defaults filled in (without touching the caller's dict) and values checked."""
    merged = dict(_DEFAULTS)
    merged.update({key: value for key, value in options.items() if value is not None})
    if merged["project_type"] not in _PROJECT_TYPES:
        raise ValueError(
            "project_type must be one of {}, got {!r}".format(
                ", ".join(_PROJECT_TYPES), merged["project_type"]
            )
        )
    if merged["build_type"] not in ("release", "debug"):
        raise ValueError(
            "build_type must be release or debug, got {!r}".format(merged["build_type"])
        )
    if int(merged["workspace_size_bytes"]) < 1024:
        raise ValueError(
            "workspace_size_bytes must be at least 1024, got {}".format(
                merged["workspace_size_bytes"]
            )
        )
    return merged


def _copy_sources(project_type: str, stage: pathlib.Path) -> None:
    """Copy the template's CMake project and C sources that ``project_type`` needs."""
    shutil.copy2(str(_HERE / "CMakeLists.txt"), str(stage / "CMakeLists.txt"))
    for folder, source in (("src", _HERE / "src"), ("c", _SHARED_C_DIR)):
        (stage / folder).mkdir()
        for path in source.iterdir():
            if path.suffix in (".c", ".h"):
                shutil.copy2(str(path), str(stage / folder / path.name))


class HostHandler(server.ProjectAPIHandler):
    """Serve the host template or a project generated from it."""

    def __init__(self) -> None:
        """Start with no child process."""
        super().__init__()
        self._transport = process_transport.ProcessTransport(
            [str(_HERE / _BUILD_DIR / _PROGRAM)], cwd=str(_HERE)
        )

    def server_info_query(self, tvm_version: str) -> server.ServerInfo:
        """Describe this template or generated project."""
        return server.ServerInfo(
            platform_name="host",
            is_template=_IS_TEMPLATE,
            model_library_format_path=None if _IS_TEMPLATE else str(_HERE / _MLF_NAME),
            project_options=_OPTIONS,
        )

    def generate_project(
        self,
        model_library_format_path: pathlib.Path,
        standalone_crt_dir: pathlib.Path,
        project_dir: pathlib.Path,
        options: Dict[str, Any],
    ) -> None:
        """Create ``project_dir`` (which must not exist) holding a buildable project."""
        settings = _checked_options(options)
        project_type = settings["project_type"]
        with staging.staged_directory(project_dir) as stage:
            generate.copy_helpers(_HERE / "microtvm_api_server.py", stage)
            model_dir = generate.install_model(pathlib.Path(model_library_format_path), stage)
            model = model_glue.read_model(model_dir)
            components = _BASE_COMPONENTS + (
                _RPC_COMPONENTS if project_type == "host_driven" else []
            )
            crt_sources = generate.copy_runtime(
                str(standalone_crt_dir) if standalone_crt_dir else None,
                model_dir,
                stage,
                components,
            )
            generate.write_crt_config(stage / "crt_config" / "crt_config.h")
            glue = model_glue.write_glue(model, stage / "glue")
            _copy_sources(project_type, stage)
            (stage / "config.cmake").write_text(
                _config_cmake(settings, model, glue, crt_sources, stage)
            )
            (stage / _SETTINGS_NAME).write_text(json.dumps(settings, indent=2) + "\n")
            generate.extract_extra_files(settings["extra_files_tar"], stage)
        _log(
            "generated {} project for model '{}' ({} interface{}) in {}".format(
                project_type,
                model.name,
                model.interface,
                ", system library" if model.has_system_lib else "",
                project_dir,
            )
        )

    def build(self, options: Dict[str, Any]) -> None:
        """Build the program incrementally and report its section sizes."""
        settings = self._settings()
        result = cmake_build.build(
            str(_HERE),
            str(_HERE / _BUILD_DIR),
            _PROGRAM,
            build_type=settings["build_type"],
            cc=settings["cc"] or None,
            verbose=bool(options.get("verbose")),
        )
        sizes = " ".join("{}={}".format(k, v) for k, v in result.sizes.items())
        _log("built {} ({})".format(result.executable, sizes or "sizes unavailable"))

    def flash(self, options: Dict[str, Any]) -> None:
        """Nothing to flash: the program runs in place on this machine."""
        _log("nothing to flash: host programs run in place (open_transport starts them)")

    def open_transport(self, options: Dict[str, Any]) -> server.TransportTimeouts:
        """Start the built program as a child whose stdin/stdout are the transport."""
        self._settings()
        if not (_HERE / _BUILD_DIR / _PROGRAM).is_file():
            raise RuntimeError("the project is not built yet: run build first")
        self._transport.close()
        self._transport.open()
        return _TIMEOUTS

    def close_transport(self) -> None:
        """Stop and reap the child; closing a closed transport does nothing."""
        self._transport.close()

    def read_transport(self, n: int, timeout_sec: Optional[float]) -> bytes:
        """Return 1 to ``n`` bytes from the program, waiting at most ``timeout_sec``."""
        return self._transport.read(n, timeout_sec)

    def write_transport(self, data: bytes, timeout_sec: Optional[float]) -> None:
        """Send ``data`` to the program, waiting at most ``timeout_sec``."""
        self._transport.write(data, timeout_sec)

    @staticmethod
    def _settings() -> Dict[str, Any]:
        if _IS_TEMPLATE:
            raise RuntimeError("this is the host template; generate a project from it first")
        return json.loads((_HERE / _SETTINGS_NAME).read_text())


def _log(message: str) -> None:
    """Say what a project call did on stderr, which the client streams to the user."""
    print("host: {}".format(message), file=sys.stderr, flush=True)


if __name__ == "__main__":
    server.main(HostHandler())
