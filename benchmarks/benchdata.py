"""Where the benchmarks find their models: the repository's test data (tests/data/README.md)."""

import pathlib

MLF_DIR = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "mlf"
