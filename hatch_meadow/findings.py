"""Findings: the results of a check that ran fine (problems found are results, not exceptions)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check noticed: a stable ``code``, how bad it is, where, what, and how to fix it."""

    code: str
    severity: Severity
    file: str | None
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, object]:
        """The JSON contract: code, severity, file, message, fix."""
        return asdict(self)


def is_failure(findings: Iterable[Finding], *, strict: bool = False) -> bool:
    """True if any finding is an error, or a warning under ``strict``."""
    return any(f.severity == "error" or (strict and f.severity == "warning") for f in findings)
