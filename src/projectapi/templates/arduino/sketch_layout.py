"""The Arduino layout of a model and the runtime: every source under one ``src/`` folder that
is also the one include directory (Arduino's builders compile ``src/`` recursively and put a
library's ``src/`` on the include path; runtime headers are included as ``<tvm/...>``)."""

import pathlib
import shutil
from typing import List, Optional, Sequence

from microtvm_kit import FIRMWARE_C_DIR, generate, model_glue
from microtvm_kit import firmware_template as kit

_STATIC_PLATFORM = FIRMWARE_C_DIR / "library" / "platform_static.c"
_TIMER = pathlib.Path(__file__).resolve().parent / "sketch" / "platform_arduino.cpp"


def write_sources(
    mlf_path: pathlib.Path,
    crt_dir: Optional[str],
    root: pathlib.Path,
    src: pathlib.Path,
    project_type: str,
    workspace_size_bytes: int,
) -> model_glue.ModelInfo:
    """Fill the new folder ``src`` with the model, the runtime, its configuration, the glue and
    the platform layer; the MLF stays at ``root/model.tar`` (extracted in ``root/model``)."""
    src.mkdir()
    model_dir = generate.install_model(mlf_path, root)
    model = model_glue.read_model(model_dir)
    components = kit.runtime_components(project_type, model)
    generate.copy_runtime(crt_dir, model_dir, src, components)
    _flatten_runtime(src / "runtime", components)
    (src / "model").mkdir()
    for path in model.sources:
        shutil.copy2(str(path), str(src / "model" / path.name))
    for header in (model_dir / "codegen" / "host" / "include").glob("*.h"):
        shutil.copy2(str(header), str(src / header.name))
    generate.write_crt_config(
        src / "crt_config.h",
        TVM_WORKSPACE_SIZE_BYTES=workspace_size_bytes,
        **kit.crt_config(project_type, model),
    )
    model_glue.write_glue(model, src, project_type)
    shutil.copy2(str(_STATIC_PLATFORM), str(src))
    shutil.copy2(str(_TIMER), str(src))
    return model


def _flatten_runtime(runtime: pathlib.Path, components: Sequence[str]) -> None:
    """Headers to ``src/`` itself; only the needed components' sources kept."""
    for entry in (runtime / "include").iterdir():
        shutil.move(str(entry), str(runtime.parent / entry.name))
    shutil.rmtree(str(runtime / "include"))
    kept = {runtime / "src" / component for component in components}
    for path in sorted((runtime / "src").rglob("*"), reverse=True):
        inside_kept = any(path == k or k in path.parents for k in kept)
        ancestor_of_kept = any(path in k.parents for k in kept)
        if not inside_kept and not ancestor_of_kept:
            shutil.rmtree(str(path)) if path.is_dir() else path.unlink()
    for path in list(runtime.iterdir()):
        if path.name != "src":
            shutil.rmtree(str(path)) if path.is_dir() else path.unlink()


def c_sources(src: pathlib.Path) -> List[pathlib.Path]:
    """Every C and C++ source under ``src`` (what Arduino's builder compiles)."""
    return sorted(p for p in src.rglob("*") if p.suffix in (".c", ".cpp"))
