"""Text from outside (a board, a certificate, a file name, a USB descriptor) made safe for a terminal.

A board's error text or a certificate's CN may hold ESC sequences (set the window title, write to the
clipboard, clear the screen). Human output escapes every control character except line breaks and tabs
as ``\\xNN`` / ``\\uNNNN``; JSON output is left exact (its encoder escapes them anyway).
"""

from __future__ import annotations

import re
from typing import Final

_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with terminal control characters (C0 but newline and tab, DEL, C1, bidi overrides) escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)
