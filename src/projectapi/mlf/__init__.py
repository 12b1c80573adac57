"""Model Library Format: open, validate and inspect archives, read and write ``.params``, pack
archives from C sources, and the bundled example model.

Archives are user input: they are only ever unpacked through ``extract_archive`` (re-exported
from the template kit's ``safe_tar``), which refuses unsafe members, and parsed by the kit's one
reader, ``microtvm_kit.archive``. Tensor names are never paths: ``safe_file_stem`` and
``file_stems`` map them to file names.
"""

from microtvm_kit.archive import ArchiveFormatError, file_stems, is_plain_name, safe_file_stem
from microtvm_kit.safe_tar import (
    UnsafeArchiveError,
    extract_archive,
    read_archive,
)
from projectapi.mlf.checks import check, validate
from projectapi.mlf.errors import MLFError, MLFValidationError, ParamsFormatError, Problem
from projectapi.mlf.library import (
    DeviceMemory,
    Model,
    ModelLibrary,
    OperatorFunction,
    TensorInfo,
)
from projectapi.mlf.library import open_library as open
from projectapi.mlf.params import read_params, write_params
from projectapi.mlf.writer import TensorSpec, pack

__all__ = [
    "ArchiveFormatError",
    "DeviceMemory",
    "MLFError",
    "MLFValidationError",
    "Model",
    "ModelLibrary",
    "OperatorFunction",
    "ParamsFormatError",
    "Problem",
    "TensorInfo",
    "TensorSpec",
    "UnsafeArchiveError",
    "check",
    "extract_archive",
    "file_stems",
    "is_plain_name",
    "open",
    "pack",
    "read_archive",
    "read_params",
    "safe_file_stem",
    "validate",
    "write_params",
]
