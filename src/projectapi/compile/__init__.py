"""``projectapi compile``: ONNX and PyTorch models to Model Library Format archives.

Apache TVM 0.27 (the optional extra ``compile``) imports the model, legalizes, fuses and plans
it, and generates the kernels as C; this package turns the planned main function into the AOT
C interface the templates run (``tvmgen_<M>_run(inputs*, outputs*)``) with one static workspace
pool and constants in flash. Importing this package does not import TVM.

The package itself is callable, so ``projectapi.compile(model, archive, ...)`` is
``compile_model``.
"""

import sys
import types
from typing import Any

from projectapi.compile.archive import CompiledModel, compile_model
from projectapi.compile.errors import CompileError, MissingExtraError
from projectapi.compile.pipeline import TARGETS

__all__ = ["TARGETS", "CompileError", "CompiledModel", "MissingExtraError", "compile_model"]


class _CallableModule(types.ModuleType):
    """This package, callable as ``compile_model``."""

    def __call__(self, *args: Any, **kwargs: Any) -> CompiledModel:
        return compile_model(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
