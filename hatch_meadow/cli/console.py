"""The one place the CLI writes to the terminal: data to stdout, people-facing messages to stderr."""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING, Any, Final

#: Version of every --json object's layout (hatch_meadow/schemas/); raised when a key changes meaning or goes.
SCHEMA_VERSION: Final = 1

if TYPE_CHECKING:  # rich is imported on first use: plain commands never pay for it
    from rich.console import Console


def _safe_console(**options: Any) -> Console:
    """A rich Console whose ``print`` escapes terminal control characters in every string it is given
    (board texts, certificate names and file names reach it; see :mod:`hatch_meadow.textsafe`)."""
    from rich.console import Console

    from hatch_meadow.textsafe import printable

    class SafeConsole(Console):
        def print(self, *objects: Any, **kwargs: Any) -> None:
            super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)

    return SafeConsole(**options)


@cache
def err_console() -> Console:
    """Messages, progress and errors (stderr); rich honours NO_COLOR and non-terminals."""
    return _safe_console(stderr=True, highlight=False, soft_wrap=True)


@cache
def out_console() -> Console:
    """Human-readable results (stdout)."""
    return _safe_console(highlight=False, soft_wrap=True)


def emit_json(payload: dict[str, Any]) -> None:
    """Write exactly one JSON object to stdout: ``schema_version`` first, keys snake_case (hatch_meadow/schemas/)."""
    import json

    payload = {"schema_version": SCHEMA_VERSION, **payload}
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


#: ANSI colour codes for the styles `check` uses.
_COLOURS: Final = {"red": "31", "yellow": "33", "cyan": "36"}


class PlainConsole:
    """The part of rich's Console that `check` and `generate` use, with neither rich nor click (short commands):
    terminal-safe text; colour only on a POSIX terminal and never with NO_COLOR set."""

    def print(self, text: str, *, markup: bool = False, style: str | None = None, end: str = "\n") -> None:
        from hatch_meadow.textsafe import printable

        line = printable(text)
        if style and _colour_ok():
            words = style.split()
            codes = ";".join((["1"] if "bold" in words else []) + [_COLOURS.get(words[-1], "0")])
            line = f"\x1b[{codes}m{line}\x1b[0m"
        _write(line + end)


def _write(text: str) -> None:
    """Write to stdout; a stream that cannot encode the text (PYTHONIOENCODING=ascii, a C locale) gets UTF-8
    bytes instead, as click.echo gives them, rather than a crash after the work is done."""
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:
            sys.stdout.write(text.encode("ascii", "backslashreplace").decode("ascii"))
            return
        sys.stdout.flush()
        buffer.write(text.encode("utf-8", "replace"))
        buffer.flush()


def _colour_ok() -> bool:
    import os

    return not os.environ.get("NO_COLOR") and os.name == "posix" and sys.stdout.isatty()


def plain_console() -> PlainConsole:
    """Results on stdout without rich (short commands that scripts run in loops: ``check``)."""
    return PlainConsole()
