"""What a patch plan is: the changes per file, the bytes before and after, warnings and verdicts."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Final, Literal

from hatch_meadow.msbuild_eval import FileVerdict
from hatch_meadow.xmltext import (
    decode_text,
)

MSBUILD_NAMESPACE: Final = "http://schemas.microsoft.com/developer/msbuild/2003"
COPY_METADATA: Final = "CopyToOutputDirectory"
ITEM_TYPES: Final = frozenset({"None", "Content"})
DEFAULT_INDENT: Final = "  "
#: The largest .csproj we read (a generated 5,000-item project is ~0.3 MB).
MAX_PROJECT_BYTES: Final = 32 << 20
#: MSBuild treats these characters specially in item specs; they must be %XX-escaped in paths.
_MSBUILD_ESCAPES: Final = {c: f"%{ord(c):02X}" for c in "%;*?@$'"}
_PERCENT_ESCAPE: Final = re.compile(r"%([0-9A-Fa-f]{2})")

Action = Literal["added", "fixed", "unchanged", "removed"]


@dataclass(frozen=True, slots=True)
class ItemChange:
    """What happened (or would happen) to one file's item."""

    file: str
    action: Action
    detail: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class PatchResult:
    """The outcome of planning or applying a patch: both texts, what changed, and caveats."""

    path: str
    original: bytes
    patched: bytes
    changes: tuple[ItemChange, ...] = ()
    warnings: tuple[str, ...] = ()
    written: bool = False
    #: What the build does with each file after the patch, and before it (the evaluation model).
    verdicts: tuple[FileVerdict, ...] = ()
    verdicts_before: tuple[FileVerdict, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the file's bytes differ after the patch."""
        return self.original != self.patched

    def diff(self) -> str:
        """A unified diff of the change (LF line endings), for ``--dry-run``; empty if nothing changes."""
        import difflib

        before = decode_text(self.original)[0].replace("\r\n", "\n")
        after = decode_text(self.patched)[0].replace("\r\n", "\n")
        lines = difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile=self.path if os.path.isabs(self.path) else f"a/{self.path}",
            tofile=self.path if os.path.isabs(self.path) else f"b/{self.path}",
        )
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary (no file contents)."""
        return {
            "csproj": self.path,
            "changed": self.changed,
            "written": self.written,
            "changes": [
                {"file": c.file, "action": c.action, "detail": c.detail, "line": c.line} for c in self.changes
            ],
            "warnings": list(self.warnings),
            "copy": [v.to_json() for v in self.verdicts],
        }
