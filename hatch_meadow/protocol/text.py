"""Device texts (spec §8.1, §11.1): device information and file-list lines. Pure parsers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_CRC_LINE: Final = re.compile(r"^(?P<name>.*?) \[(?P<crc>0x[0-9A-Fa-f]{8})\](?:.*?\((?P<size>\d+) bytes\))?")


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One line of a device file list: a file (with CRC and size when listed with CRCs) or a folder."""

    name: str
    is_dir: bool = False
    crc: int | None = None
    size: int | None = None


def parse_device_info(text: str) -> dict[str, str]:
    """``key|value~key|value~…`` → dict with lower-case keys (the CLI reads keys case-insensitively)."""
    info: dict[str, str] = {}
    for field in text.strip().split("~"):
        key, sep, value = field.partition("|")
        if sep and key.strip():
            info[key.strip().lower()] = value.strip()
    return info


def parse_file_line(line: str) -> FileEntry | None:
    """A LIST_MEMBER / CRC_MEMBER text → an entry, or None for the 'Directory:' and 'A total of' lines."""
    text = line.strip()
    if not text or text.startswith(("Directory:", "A total of")):
        return None
    if text.startswith("/"):
        return FileEntry(name=text.lstrip("/").rstrip("/"), is_dir=True)
    match = _CRC_LINE.match(text)
    if match:
        size = match.group("size")
        return FileEntry(name=match.group("name"), crc=int(match.group("crc"), 16),
                         size=int(size) if size else None)
    return FileEntry(name=text)


def runtime_enabled(text: str) -> bool | None:
    """'Mono is enabled' / 'Runtime is disabled' → True / False; None if the text says neither."""
    lowered = text.lower()
    if "is enabled" in lowered and ("mono" in lowered or "runtime" in lowered):
        return True
    if "is disabled" in lowered and ("mono" in lowered or "runtime" in lowered):
        return False
    return None
