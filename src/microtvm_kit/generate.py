"""Steps of generate_project shared by firmware templates: helpers, model, runtime, crt_config.h.

Each step writes into a project directory that is still being staged (see ``staging``), so a
failure anywhere leaves nothing behind. Standard library only, Python 3.8+.
"""

from __future__ import annotations

import json
import pathlib
import shutil
from typing import Dict, List, NamedTuple, Optional, Sequence

from microtvm_kit import KIT_DIR, RUNTIME_DIR, runtime_tree, safe_tar
from microtvm_kit.errors import BadArchiveError, GenerateError

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "build", ".*")
# Platform components (``platform/posix``) are taken from the packaged runtime when the given
# tree has none; any other component must come from the given tree (runtimes do not mix).
_PLATFORM_PREFIX = "platform/"
# Which runtime a generated project was built with (``CopiedRuntime.record``).
RUNTIME_RECORD_NAME = "runtime.json"

# crt_config.h values (docs/runtime.md): TVM's defaults, with the name lengths TVM uses.
CRT_CONFIG_DEFAULTS = {
    "TVM_CRT_LOG_LEVEL": 3,
    "TVM_CRT_DEBUG": 0,
    "TVM_CRT_MAX_NDIM": 6,
    "TVM_CRT_MAX_ARGS": 10,
    "TVM_CRT_GLOBAL_FUNC_REGISTRY_SIZE_BYTES": 512,
    "TVM_CRT_MAX_REGISTERED_MODULES": 2,
    "TVM_CRT_MAX_PACKET_SIZE_BYTES": 2048,
    "TVM_CRT_MAX_STRLEN_DLTYPE": 10,
    "TVM_CRT_MAX_STRLEN_FUNCTION_NAME": 120,
    "TVM_CRT_MAX_STRLEN_PARAM_NAME": 80,
}


def copy_helpers(server_file: pathlib.Path, project_dir: pathlib.Path) -> None:
    """Copy a template's server file and this whole package into ``project_dir``."""
    shutil.copy2(server_file, project_dir / "microtvm_api_server.py")
    shutil.copytree(KIT_DIR, project_dir / "microtvm_kit", ignore=_IGNORED)


def install_model(mlf_path: pathlib.Path, project_dir: pathlib.Path) -> pathlib.Path:
    """Copy the MLF to ``model.tar`` and extract it safely into ``model/``; return that dir."""
    if not mlf_path.is_file():
        raise BadArchiveError(f"model library format archive {mlf_path} does not exist")
    shutil.copy2(mlf_path, project_dir / "model.tar")
    model_dir = project_dir / "model"
    safe_tar.extract_archive(mlf_path, model_dir)
    return model_dir


def _runtime_source(crt_dir: Optional[str], model_dir: pathlib.Path) -> pathlib.Path:
    """The runtime tree to copy: the one given, else the MLF's, else the packaged one."""
    if crt_dir:
        path = pathlib.Path(crt_dir)
        if not (path / "include").is_dir():
            raise GenerateError(
                f"standalone_crt_dir {path} is not a runtime tree (it has no include/ directory)"
            )
        return path
    for candidate in (model_dir / "runtime", RUNTIME_DIR):
        if (candidate / "include").is_dir():
            return candidate
    raise GenerateError("no runtime found: pass standalone_crt_dir (projectapi's runtime/)")


class CopiedRuntime(NamedTuple):
    """The runtime a project was given: its C/C++ sources per component and where it came from."""

    sources: Dict[str, List[str]]
    info: runtime_tree.RuntimeInfo

    @property
    def has_cxx(self) -> bool:
        """Whether any component has C++ sources (TVM's RPC server has)."""
        return runtime_tree.source_counts(self.sources)["cxx"] > 0

    def describe(self) -> str:
        """One line for the generate output."""
        counts = runtime_tree.source_counts(self.sources)
        return "{}; {} C and {} C++ sources".format(
            self.info.describe(), counts["c"], counts["cxx"]
        )

    def record(self) -> Dict[str, object]:
        """What ``RUNTIME_RECORD_NAME`` keeps."""
        return dict(self.info._asdict(), sources=runtime_tree.source_counts(self.sources))


def copy_runtime(
    crt_dir: Optional[str],
    model_dir: pathlib.Path,
    project_dir: pathlib.Path,
    components: Sequence[str],
) -> CopiedRuntime:
    """Copy the runtime into ``project_dir/runtime``; return its sources and origin.

    Either layout is accepted (``runtime_tree``). Paths are relative to ``project_dir``. A POSIX
    platform (``platform/posix``) missing from the chosen tree (TVM's own CRT has none) is taken
    from the packaged runtime.
    """
    source = _runtime_source(crt_dir, model_dir)
    from_archive = source.resolve() == (model_dir / "runtime").resolve()
    info = runtime_tree.identify(source, "the model archive" if from_archive else None)
    dest = project_dir / "runtime"
    if from_archive:
        shutil.move(str(source), str(dest))
    else:
        shutil.copytree(source, dest, ignore=_IGNORED)
    sources = {}
    for component in components:
        found = runtime_tree.component_dir(dest, component)
        if found is None and component.startswith(_PLATFORM_PREFIX):
            found = dest / "src" / component
            shutil.copytree(RUNTIME_DIR / "src" / component, found, ignore=_IGNORED)
        files = runtime_tree.component_sources(found) if found is not None else []
        if not files:
            raise GenerateError(
                "the runtime in {} has no sources for component {!r} ({} layout: looked in {})".format(
                    source, component, info.layout, _expected_dir(info.layout, component)
                )
            )
        sources[component] = [path.relative_to(project_dir).as_posix() for path in files]
    return CopiedRuntime(sources, info)


def _expected_dir(layout: str, component: str) -> str:
    base = runtime_tree.TVM_COMPONENT_BASE if layout == "tvm" else pathlib.PurePosixPath("src")
    return (base / component).as_posix()


def write_runtime_record(project_dir: pathlib.Path, runtime: CopiedRuntime) -> None:
    """Keep which runtime the project was built with in ``RUNTIME_RECORD_NAME``."""
    text = json.dumps(runtime.record(), indent=2) + "\n"
    (project_dir / RUNTIME_RECORD_NAME).write_text(text)


def write_crt_config(path: pathlib.Path, **overrides: int) -> None:
    """Write ``crt_config.h`` with TVM's defaults updated by ``overrides``."""
    values = dict(CRT_CONFIG_DEFAULTS, **overrides)
    lines = [
        "/* Runtime configuration (docs/runtime.md). Generated by projectapi. */",
        "#ifndef TVM_RUNTIME_CRT_CONFIG_H_",
        "#define TVM_RUNTIME_CRT_CONFIG_H_",
        "",
    ]
    lines += [f"#define {name} {value}" for name, value in values.items()]
    lines += ["", "#endif /* TVM_RUNTIME_CRT_CONFIG_H_ */", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def extract_extra_files(tar_path: Optional[str], project_dir: pathlib.Path) -> None:
    """Merge the user's ``extra_files_tar`` into the project (safely; never replaces a file)."""
    if not tar_path:
        return
    if not pathlib.Path(tar_path).is_file():
        raise GenerateError(f"extra_files_tar {tar_path} does not exist")
    safe_tar.extract_archive(tar_path, project_dir)
