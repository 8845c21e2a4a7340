"""Names, limits and word lists of the scaffolding (no behaviour)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal

TEMPLATE_NAME: Final = "meadow-app"
#: ``_src_path`` of a project rendered from the installed package: not a place copier can reach, so
#: ``hatch-meadow update`` re-renders from whatever hatch-meadow is installed.
PACKAGED_SOURCE: Final = f"hatch-meadow:{TEMPLATE_NAME}"
ANSWERS_FILE: Final = ".copier-answers.yml"
VERSION_KEY: Final = "_hatch_meadow_version"
BASELINE_KEY: Final = "_hatch_meadow_files"
#: Suffix of the template's version of a file that both you and the template changed.
CONFLICT_SUFFIX: Final = ".new"

BOARDS: Final = ("F7FeatherV2", "F7CoreComputeV2", "ProjectLab")
#: The questions of templates/meadow-app/copier.yml, in its order, with their types.
QUESTION_TYPES: Final[Mapping[str, type]] = {
    "project_name": str, "app_name": str, "board": str, "device_id": str, "iot_hub": str,
    "key_type": str, "key_encryption": str, "telemetry_sample": bool, "commit_certificate": bool,
}
MAX_APP_NAME_CHARS: Final = 64
#: Bits of SHA-256 kept per baseline file: enough to notice an edit; not a security property.
DIGEST_HEX_CHARS: Final = 16
#: git is only asked about refs and local clones; a remote that does not answer in this time is unreachable.
GIT_TIMEOUT_S: Final = 30

CSHARP_KEYWORDS: Final = frozenset({
    "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
    "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
    "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
    "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override", "params",
    "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof",
    "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong",
    "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while"
})
#: Windows cannot create files or folders with these names, whatever the extension.
WINDOWS_DEVICE_NAMES: Final = frozenset(
    ["CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))]
)
#: Names the generated app uses itself (assembly App, base class App<>, the namespaces it imports).
TAKEN_APP_NAMES: Final = frozenset({"App", "Meadow", "MQTTnet", "System"})

_CSHARP_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROJECT_NAME: Final = re.compile(r"[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]")
_PLAIN_YAML: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_YAML_WORDS: Final = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})
_MERGE_MARKER: Final = b"<<<<<<< before updating"
_COPIER_VALIDATION: Final = re.compile(r"Validation error for question '(?P<name>\w+)': (?P<why>.*)", re.DOTALL)

Action = Literal["add", "update", "delete", "conflict"]
UpdateMode = Literal["copier-update", "re-render"]
