"""``projectapi compile``: ONNX and PyTorch models to Model Library Format archives.

Apache TVM 0.27 (the optional extra ``compile``) imports the model, legalizes, fuses and plans
it, and generates the kernels as C; this package turns the planned main function into the AOT
C interface the templates run (``tvmgen_<M>_run(inputs*, outputs*)``) with one static workspace
pool and constants in flash. Importing this package does not import TVM.
"""

from projectapi.compile.archive import CompiledModel, compile_model
from projectapi.compile.errors import CompileError, MissingExtraError
from projectapi.compile.pipeline import TARGETS

__all__ = ["TARGETS", "CompileError", "CompiledModel", "MissingExtraError", "compile_model"]
