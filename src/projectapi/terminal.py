"""Text from servers and templates made safe to show on a terminal."""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL and C1 controls: what a terminal would act on
# (clear the screen, set the title, move the cursor...).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """``text`` with terminal control characters shown as ``\\xNN`` (tab and newline kept;
    CRLF line ends become newlines)."""
    return _CONTROL.sub(_escaped, text.replace("\r\n", "\n"))


def _escaped(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"
