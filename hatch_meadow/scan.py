"""Look through files, folders and archives for private-key material (issue #12 `scan`; the hook's artifact check).

What counts as key material is :func:`hatch_meadow.secretscan.classify` (PEM private-key blocks of any label, DER
keys and PKCS#12 by structure, pass files by name, given secret bytes). This module walks:

* folders, without following symlinks: a link to a file inside the scanned folder is scanned, a link leading
  out of it (or looping) is listed as not scanned;
* archives, recognised by content whatever their name: zip (wheels, ``.mpak`` OTA packages, ``.nupkg``) and
  tar (sdists; plain, gzip, bzip2, xz), and archives inside them one level deep;
* with limits, so a hostile archive cannot exhaust memory or time: each member is read through a bounded
  reader (a lying header cannot make it bigger), an archive may expand to at most ``MAX_EXPANDED_BYTES``
  and at most ``MAX_RATIO`` times its own size, with at most ``MAX_MEMBERS`` members; beyond that the
  archive is refused as a bomb (listed as not scanned, with the limit).

Never returns or prints a secret: a hit names where it is and what it is.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final, Protocol

from hatch_meadow.secretscan import MAX_SCAN_BYTES, Hit, classify

#: An archive (with its nested archives) may expand to at most this many bytes…
MAX_EXPANDED_BYTES: Final = 1 << 30
#: …and to at most this many times its own size once it expands past ``RATIO_FLOOR_BYTES``.
MAX_RATIO: Final = 200
RATIO_FLOOR_BYTES: Final = 64 << 20
#: Members per archive.
MAX_MEMBERS: Final = 100_000
#: Archives inside archives are opened this many levels deep (a wheel inside an OTA package, not further).
MAX_NESTING: Final = 1


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ArchiveRefused(Exception):
    """An archive exceeded a limit (a bomb) or could not be read; the message says which."""


@dataclass
class ScanReport:
    """Everything one scan found and everything it could not look at."""

    hits: list[Hit] = field(default_factory=list)
    not_scanned: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    files: int = 0
    archives: int = 0

    def to_json(self) -> dict[str, object]:
        """The ``scan --json`` object (schema_version 1)."""
        return {"schema_version": 1, "ok": not self.hits and not self.not_scanned,
                "hits": [{"path": h.where, "what": h.what} for h in self.hits],
                "not_scanned": [{"path": where, "reason": why} for where, why in self.not_scanned],
                "files_scanned": self.files, "archives_scanned": self.archives}


@dataclass
class _Budget:
    """How much an archive (and what it holds) may still expand."""

    compressed: int
    expanded: int = 0
    members: int = 0
    entries: int = 0

    def check_declared(self, size: int, where: str) -> None:
        """Refuse before reading when a member's header alone breaks a limit (every entry counts, folders and
        links included: a tar of a million empty folders is a bomb too)."""
        self.entries += 1
        if self.entries > MAX_MEMBERS:
            raise ArchiveRefused(f"more than {MAX_MEMBERS} entries (an archive bomb?)")
        if self.expanded + size > MAX_EXPANDED_BYTES:
            raise ArchiveRefused(f"{where} would expand past {MAX_EXPANDED_BYTES >> 20} MiB (an archive bomb?)")

    def take(self, size: int, where: str, *, member: bool = True) -> None:
        """Charge ``size`` bytes actually read (whatever the header said)."""
        self.expanded += size
        self.members += member
        if self.members > MAX_MEMBERS:
            raise ArchiveRefused(f"more than {MAX_MEMBERS} members (an archive bomb?)")
        if self.expanded > MAX_EXPANDED_BYTES:
            raise ArchiveRefused(f"expands past {MAX_EXPANDED_BYTES >> 20} MiB at {where} (an archive bomb?)")
        if self.expanded > RATIO_FLOOR_BYTES and self.expanded > MAX_RATIO * max(self.compressed, 1):
            raise ArchiveRefused(f"expands more than {MAX_RATIO} times its size at {where} (an archive bomb?)")


def scan_paths(paths: Iterable[Path], secrets: Iterable[bytes] = ()) -> ScanReport:
    """Scan each path: a file, an archive or a folder (walked without following links out of it)."""
    report = ScanReport()
    wanted = [s for s in secrets if s]
    for path in paths:
        if path.is_dir():
            _scan_folder(path, wanted, report)
        else:
            _scan_file(path, str(path), wanted, report)
    return report


def scan_named_files(files: Iterable[tuple[str, Path]], secrets: Iterable[bytes] = ()) -> ScanReport:
    """Scan files given as (name shown, path), e.g. what hatchling would pack into an sdist (archives opened)."""
    report = ScanReport()
    wanted = [s for s in secrets if s]
    for shown, path in files:
        _scan_file(path, shown, wanted, report)
    return report


def scan_archive_file(path: Path, secrets: Iterable[bytes] = ()) -> ScanReport:
    """Scan one archive (an sdist or wheel the build just made); a file that is no archive is scanned as one."""
    report = ScanReport()
    _scan_file(path, path.name, [s for s in secrets if s], report)
    return report


def _scan_folder(root: Path, secrets: list[bytes], report: ScanReport) -> None:
    real_root = root.resolve()
    for folder, dirs, names in os.walk(root, onerror=lambda exc: report.not_scanned.append(
            (str(exc.filename), f"cannot be listed ({exc.strerror})"))):
        dirs.sort()
        for link in [d for d in dirs if (Path(folder) / d).is_symlink()]:
            dirs.remove(link)
            report.not_scanned.append((str(Path(folder) / link), "a symlinked folder (not followed)"))
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    report.not_scanned.append((str(path), "a symlink that loops or leads nowhere"))
                    continue
                if not target.is_relative_to(real_root):
                    report.not_scanned.append((str(path), f"a symlink leading out of {root} (not followed)"))
                    continue
            _scan_file(path, str(path), secrets, report)


def _scan_file(path: Path, shown: str, secrets: list[bytes], report: ScanReport) -> None:
    try:
        if not path.is_file():
            report.not_scanned.append((shown, "not a regular file"))
            return
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(MAX_SCAN_BYTES + 1)
            if not _is_archive(head):
                report.files += 1
                _classify_stream(shown, shown, head, handle, secrets, report)
                return
    except (OSError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        report.not_scanned.append((shown, f"cannot be read ({reason})"))
        return
    report.files += 1
    report.archives += 1
    try:
        _scan_archive(path, shown, _Budget(size), secrets, report, depth=0)
    except ArchiveRefused as exc:
        report.not_scanned.append((shown, f"archive refused: {exc}"))


def _classify_stream(name: str, where: str, head: bytes, rest: _Reader, secrets: list[bytes],
                     report: ScanReport) -> None:
    """Classify ``head`` (at most MAX_SCAN_BYTES + 1 bytes); a longer stream is searched on in overlapping windows
    for PEM blocks and secret bytes (a whole-file DER key or PFX is never that large)."""
    if len(head) <= MAX_SCAN_BYTES:
        if what := classify(name, head, secrets):
            report.hits.append(Hit(where, what))
        return
    window = head
    while window:
        if what := classify(name, b"\0" + window, secrets):  # the NUL: a window is never taken for a whole DER key
            report.hits.append(Hit(where, what))
            return
        block = rest.read(MAX_SCAN_BYTES)
        window = window[-_OVERLAP:] + block if block else b""


_OVERLAP: Final = 4096


def _is_archive(head: bytes) -> bool:
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return True
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return True
    return len(head) > 262 and head[257:262] == b"ustar"


def _scan_archive(source: Path | bytes, shown: str, budget: _Budget, secrets: list[bytes], report: ScanReport, *,
                  depth: int) -> None:
    handle: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
    try:
        for name, member in _members(handle, budget):
            where = f"{shown}!{name}"
            head = member.read(MAX_SCAN_BYTES + 1)
            budget.take(len(head), where)
            report.files += 1
            if _is_archive(head) and depth < MAX_NESTING and len(head) <= MAX_SCAN_BYTES:
                report.archives += 1
                _scan_archive(head, where, budget, secrets, report, depth=depth + 1)
            else:
                _classify_stream(name, where, head, _Counted(member, budget, where), secrets, report)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError) as exc:  # RuntimeError: an encrypted zip member
        raise ArchiveRefused(f"cannot be read as an archive ({type(exc).__name__}: {exc})") from exc
    finally:
        handle.close()


class _Counted:
    """A member's remaining bytes, charged to the budget as they are read."""

    def __init__(self, inner: IO[bytes], budget: _Budget, where: str) -> None:
        self._inner, self._budget, self._where = inner, budget, where

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        self._budget.take(len(data), self._where, member=False)
        return data


def _members(handle: IO[bytes], budget: _Budget) -> Iterator[tuple[str, IO[bytes]]]:
    head = handle.read(4)
    handle.seek(0)
    if head[:2] == b"PK":
        with zipfile.ZipFile(handle) as archive:
            for info in archive.infolist():
                budget.check_declared(info.file_size, info.filename)
                if not info.is_dir():
                    with archive.open(info) as member:
                        yield info.filename, member
        return
    with tarfile.open(fileobj=handle, mode="r:*") as archive:
        for entry in archive:
            budget.check_declared(entry.size if entry.isfile() else 0, entry.name)
            if entry.isfile():
                extracted = archive.extractfile(entry)
                if extracted is not None:
                    yield entry.name, extracted
