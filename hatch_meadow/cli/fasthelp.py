"""The top-level ``hatch-meadow --help`` without importing click (same layout as click renders it).

A test compares this text with click's own rendering, word for word, so the two cannot drift apart.
"""

from __future__ import annotations

import os
import sys
import textwrap

from hatch_meadow.cli import COMMANDS, DESCRIPTION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

#: click's ``max_content_width`` for the group; the help is as wide as the terminal up to this.
MAX_HELP_WIDTH: Final = 100
_OPTIONS: Final = (("-V, --version", "Show the version and exit."), ("-h, --help", "Show this message and exit."))


def terminal_columns() -> int:
    """What ``shutil.get_terminal_size().columns`` says (COLUMNS, else the terminal, else 80), without
    importing shutil."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def help_width() -> int:
    """The width click would use: the terminal's (or 80) up to 100, minus 2, at least 50."""
    return max(min(terminal_columns(), MAX_HELP_WIDTH) - 2, 50)


def _rows(rows: tuple[tuple[str, str], ...] | list[tuple[str, str]], width: int) -> list[str]:
    first = min(max(len(name) for name, _ in rows), 30)
    text_width = max(width - first - 4, 10)
    lines = []
    for name, text in rows:
        wrapped = textwrap.wrap(text, text_width) or [""]
        lines.append(f"  {name:<{first}}  {wrapped[0]}".rstrip())
        lines += [" " * (first + 4) + line for line in wrapped[1:]]
    return lines


def render_top_help(width: int | None = None) -> str:
    """The group's help: usage, description paragraphs, options, commands."""
    width = help_width() if width is None else width
    paragraphs = [" ".join(p.split()) for p in DESCRIPTION.split("\n\n")]
    body = "\n\n".join(textwrap.fill(p, width, initial_indent="  ", subsequent_indent="  ") for p in paragraphs)
    parts = ["Usage: hatch-meadow [OPTIONS] COMMAND [ARGS]...", "", body, "", "Options:",
             *_rows(_OPTIONS, width), "", "Commands:",
             *_rows([(name, spec[2]) for name, spec in COMMANDS.items()], width)]
    return "\n".join(parts) + "\n"
