"""The example model's numbers: a two-layer float32 MLP with fixed seeded weights.

``output = dense2(relu(dense1(input)))``: 32 inputs, 16 hidden units, 10 outputs. The numpy
reference accumulates in float32 in the same order as the generated C (bias added after the
dot product), so on hosts without fused multiply-add the two agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MODEL_NAME = "mlp"
INPUT_NAME = "input"
OUTPUT_NAME = "output"
INPUT_SHAPE = (1, 32)
HIDDEN_UNITS = 16
OUTPUT_SHAPE = (1, 10)
# Fixed seeds make the weights, and so the generated C, identical on every machine.
WEIGHT_SEED = 20231121
INPUT_SEED = 7


@dataclass(frozen=True)
class Dense:
    """One fully connected layer: ``weight`` is [units, inputs], ``bias`` is [units]."""

    weight: np.ndarray
    bias: np.ndarray
    relu: bool


def layers() -> tuple[Dense, Dense]:
    """The two layers, drawn from numpy's default_rng with the fixed seed."""
    rng = np.random.default_rng(WEIGHT_SEED)
    inputs, hidden, outputs = INPUT_SHAPE[1], HIDDEN_UNITS, OUTPUT_SHAPE[1]
    first = Dense(
        weight=(rng.standard_normal((hidden, inputs)) / np.sqrt(inputs)).astype(np.float32),
        bias=(rng.standard_normal(hidden) * 0.1).astype(np.float32),
        relu=True,
    )
    second = Dense(
        weight=(rng.standard_normal((outputs, hidden)) / np.sqrt(hidden)).astype(np.float32),
        bias=(rng.standard_normal(outputs) * 0.1).astype(np.float32),
        relu=False,
    )
    return first, second


def example_input() -> dict[str, np.ndarray]:
    """A fixed input: float32 uniform in [-1, 1) from default_rng(INPUT_SEED)."""
    rng = np.random.default_rng(INPUT_SEED)
    return {INPUT_NAME: rng.uniform(-1.0, 1.0, INPUT_SHAPE).astype(np.float32)}


def example_reference(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The outputs the generated C computes for ``inputs`` (name -> array)."""
    if INPUT_NAME not in inputs:
        raise KeyError(f"the example model needs input '{INPUT_NAME}'")
    values = np.asarray(inputs[INPUT_NAME], dtype=np.float32).reshape(-1)
    if values.size != INPUT_SHAPE[1]:
        raise ValueError(f"input '{INPUT_NAME}' must have {INPUT_SHAPE[1]} elements")
    for layer in layers():
        values = _dense(values, layer)
    return {OUTPUT_NAME: values.reshape(OUTPUT_SHAPE)}


def _dense(values: np.ndarray, layer: Dense) -> np.ndarray:
    """``acc[o] = sum_k x[k] * w[o, k]`` in k order, then ``+ bias``, then optional ReLU."""
    acc = np.zeros(layer.weight.shape[0], dtype=np.float32)
    for k in range(layer.weight.shape[1]):
        acc = acc + values[k] * layer.weight[:, k]
    acc = acc + layer.bias
    return np.maximum(acc, np.float32(0)) if layer.relu else acc
