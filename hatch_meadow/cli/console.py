"""The one place the CLI writes to the terminal: data to stdout, people-facing messages to stderr."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is imported on first use: plain commands never pay for it
    from rich.console import Console


@cache
def err_console() -> Console:
    """Messages, progress and errors (stderr); rich honours NO_COLOR and non-terminals."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


@cache
def out_console() -> Console:
    """Human-readable results (stdout)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def emit_json(payload: dict[str, Any]) -> None:
    """Write exactly one JSON object to stdout."""
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()
