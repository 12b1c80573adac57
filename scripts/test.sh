#!/usr/bin/env bash
# The whole test suite: lint, then every test (end-to-end builds and QEMU included) on all cores.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests benchmarks
.venv/bin/python -m pytest -n auto --dist loadgroup -q "$@"
