"""Shared helpers of the Arduino template tests: the template's own modules, tools present."""

from __future__ import annotations

import shutil
import sys

import pytest

from projectapi.project import TEMPLATES_DIR

TEMPLATE_DIR = TEMPLATES_DIR / "arduino"


def template_modules():
    """The template's own modules (avr_build, sketch_layout), importable here."""
    if str(TEMPLATE_DIR) not in sys.path:
        sys.path.insert(0, str(TEMPLATE_DIR))
    import avr_build
    import sketch_layout

    return avr_build, sketch_layout


def require_avr_tools() -> None:
    """The AVR leg needs Debian's gcc-avr, avr-libc, arduino-core-avr and simavr."""
    avr_build, _ = template_modules()
    avr_build.check_tools()
    if shutil.which("simavr") is None:
        pytest.fail("simavr is not installed: run scripts/install-deps.sh")
