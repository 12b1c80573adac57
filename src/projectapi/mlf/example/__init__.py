"""The bundled example model: a small float32 MLP generated as TVM-style AOT C and packed as MLF.

``build_example_archive(dest)`` writes the archive; ``example_input()`` and
``example_reference(inputs)`` give a fixed input and the outputs the C code must produce.
"""

from __future__ import annotations

import os
from pathlib import Path

from projectapi.mlf.example.codegen import WORKSPACE_BYTES, sources
from projectapi.mlf.example.model import (
    INPUT_NAME,
    INPUT_SHAPE,
    MODEL_NAME,
    OUTPUT_NAME,
    OUTPUT_SHAPE,
    example_input,
    example_reference,
    layers,
)
from projectapi.mlf.writer import TensorSpec, pack

__all__ = ["MODEL_NAME", "build_example_archive", "example_input", "example_reference"]


def build_example_archive(dest_path: str | os.PathLike[str]) -> Path:
    """Generate the example model's C and write it as a version-7 MLF archive at ``dest_path``."""
    model_layers = layers()
    constants = sum(layer.weight.nbytes + layer.bias.nbytes for layer in model_layers)
    library = pack(
        dest_path,
        model_name=MODEL_NAME,
        sources=sources(model_layers),
        inputs=[TensorSpec(INPUT_NAME, "float32", INPUT_SHAPE)],
        outputs=[TensorSpec(OUTPUT_NAME, "float32", OUTPUT_SHAPE)],
        workspace_size_bytes=WORKSPACE_BYTES,
        constants_size_bytes=constants,
    )
    return library.path
