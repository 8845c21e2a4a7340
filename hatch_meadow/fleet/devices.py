"""The fleet's device list: a CSV with a header, column ``device_id`` (required), ``serial_number`` (optional).

Every row is checked before anything is issued: a bad list changes nothing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hatch_meadow.creds.vocabulary import device_id_problem
from hatch_meadow.errors import InputError

MAX_CSV_BYTES: Final = 64 << 20  # 64 MiB: far beyond any fleet (100,000 rows are ~5 MiB)
#: Meadow serial numbers are hex strings; accept any plain token a board could report.
SERIAL_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One device of the list (line is the CSV line, for messages)."""

    device_id: str
    serial_number: str | None
    line: int


def read_devices(path: Path) -> list[DeviceRow]:
    """Every row of the device CSV, checked.

    Raises:
        InputError: unreadable or too large, no header or no ``device_id`` column, an empty, invalid or
            duplicate device id, an invalid or duplicate serial number (each names the line).
    """
    return list(_rows(path))


def _rows(path: Path) -> Iterator[DeviceRow]:
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise InputError(f"{path}: {size} bytes is too large for a device list",
                             hint="split it into several lists of up to 64 MiB")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the device list ({exc.strerror})",
                         hint="pass --devices with a readable CSV file") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})", hint="save the list as UTF-8 CSV") from exc
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip() for f in (reader.fieldnames or [])]
    if "device_id" not in fields:
        raise InputError(f"{path}: no device_id column (the header is {', '.join(fields) or 'missing'})",
                         hint="the first line must be a header naming device_id (and optionally serial_number)")
    reader.fieldnames = fields
    seen_ids: dict[str, int] = {}
    seen_serials: dict[str, int] = {}
    count = 0
    for row in reader:
        line = reader.line_num
        device_id = (row.get("device_id") or "").strip()
        if not device_id and not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line
        problem = "is empty" if not device_id else device_id_problem(device_id)
        if problem:
            raise InputError(f"{path}, line {line}: device id {device_id!r} {problem}",
                             hint="fix that row; nothing was issued")
        folded = device_id.casefold()  # folders on macOS/Windows are case-insensitive
        if folded in seen_ids:
            raise InputError(f"{path}, line {line}: device id {device_id!r} is already on line {seen_ids[folded]}",
                             hint="every device needs its own id (ids differing only in case count as the same)")
        seen_ids[folded] = line
        serial = (row.get("serial_number") or "").strip() or None
        if serial is not None:
            if not SERIAL_PATTERN.fullmatch(serial):
                raise InputError(f"{path}, line {line}: serial number {serial!r} is not a board serial "
                                 "(letters, digits, - and _ only, up to 64)", hint="fix or empty that cell")
            key = serial.upper()
            if key in seen_serials:
                raise InputError(f"{path}, line {line}: serial number {serial} is already on line "
                                 f"{seen_serials[key]}", hint="one board serial can hold only one identity")
            seen_serials[key] = line
        count += 1
        yield DeviceRow(device_id, serial, line)
    if count == 0:
        raise InputError(f"{path}: the device list has a header but no devices", hint="add one row per device")
