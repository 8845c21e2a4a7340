"""Findings: the results of a check that ran fine (problems found are results, not exceptions)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Final, Literal

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


#: Findings `hatch-meadow fix` resolves (key encodings, pass-file bytes); only then is it the closing hint.
FIXABLE: Final = frozenset({
    "key-pbes2-aes", "key-pbes2-kdf", "key-pbes2-cipher", "key-pbes1", "key-pkcs12-scheme", "key-legacy-cipher",
    "key-des-unavailable", "key-der", "pass-trailing-newline", "pass-bom", "pass-missing",
})


def located(finding: Finding) -> str:
    """``file: message``, without naming the file twice when the message already starts with it."""
    if not finding.file or finding.message.startswith(finding.file):
        return finding.message
    return f"{finding.file}: {finding.message}"


def closing_hint(findings: Iterable[Finding]) -> str:
    """The hint after a failure: `fix` where it helps, else `check` (which lists every fix)."""
    codes = {f.code for f in findings if f.severity == "error"}
    if codes and codes <= FIXABLE:
        return "`hatch-meadow fix` repairs this, keeping the key and the passphrase"
    return "`hatch-meadow check` shows each problem with its fix"
