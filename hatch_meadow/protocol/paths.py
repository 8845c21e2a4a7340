"""Where files live on the board and which names it takes (spec §7.2, §8.1, §10.1). Pure."""

from __future__ import annotations

from typing import Final

#: The F7 flash file system root; credentials and app files go below it.
MEADOW_ROOT: Final = "/meadow0/"
#: A destination path may have at most 8 elements, ``meadow0`` included (up to 6 sub-folders, spec §7.2).
MAX_PATH_ELEMENTS: Final = 8


def elements_ok(absolute: str) -> bool:
    """True if a '/meadow0/…' path has at most 8 elements and no empty, '.' or '..' element."""
    parts = absolute.split("/")[1:]
    return len(parts) <= MAX_PATH_ELEMENTS and not any(p in ("", ".", "..") for p in parts)


def upload_path_problem(relative: str) -> str | None:
    """Why the board cannot take ``relative`` (a '/'-separated path below /meadow0/), or None."""
    if not relative.isascii() or any(c in relative for c in "\\\0") or relative.endswith("/") \
            or any(ord(c) < 0x20 or c == "\x7f" for c in relative):
        return "the board takes only plain ASCII file names"
    if not elements_ok(MEADOW_ROOT + relative):
        return "too deep or not a plain relative path for /meadow0/ (at most 6 sub-folders)"
    return None
