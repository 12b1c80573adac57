"""Where the benchmarks find their models: the repository's test data (tests/data/README.md)."""

import pathlib

DATA_DIR = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
MLF_DIR = DATA_DIR / "mlf"
MODELS_DIR = DATA_DIR / "models"
