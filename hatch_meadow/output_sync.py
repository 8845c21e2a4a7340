"""Syncing an app's build output folder with the board's /meadow0/: read, check, compare, list. Pure but for the
file reads and the board's listing.

Files are described by size and CRC and streamed when sent (:class:`~hatch_meadow.filesource.DiskSource`), so a
large output file never sits in memory. The credential names and the board's persistent folders are never sent,
compared or deleted here: credentials reach the board only as the checked set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hatch_meadow.device import MeadowDevice
from hatch_meadow.errors import DeviceRejectedError, InputError
from hatch_meadow.filesource import DiskSource
from hatch_meadow.names import CREDENTIAL_FILES
from hatch_meadow.protocol.paths import MAX_PATH_ELEMENTS, MEADOW_ROOT, upload_path_problem

#: Folders on the board that hold the app's data and the OS's own state: never deleted or synced.
PERSISTENT_FOLDERS: Final = frozenset({"Data", "Documents", "update-store", "system"})


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What an output-folder sync does: send (changed or new), skip (same CRC), delete (stale)."""

    send: tuple[str, ...]
    skip: tuple[str, ...]
    delete: tuple[str, ...]


def plan_sync(local: Mapping[str, int], remote: Mapping[str, int | None]) -> SyncPlan:
    """Compare local files (relative '/' paths → CRC) with the board's (paths → CRC). Pure.

    Persistent folders and the credential files are never touched.
    """
    def protected(path: str) -> bool:
        return path.split("/", 1)[0] in PERSISTENT_FOLDERS or is_credential_name(path)

    send: list[str] = []
    skip: list[str] = []
    for path, crc in sorted(local.items()):
        if protected(path):
            continue
        (skip if remote.get(path) == crc else send).append(path)
    delete = sorted(p for p in remote if p not in local and not protected(p))
    return SyncPlan(tuple(send), tuple(skip), tuple(delete))


def is_credential_name(path: str) -> bool:
    """A top-level board path the OS would import as a credential file (any case: the board's FAT is not
    case-sensitive). Credentials travel only through the checked set, never as extra or output files."""
    return path.lower() in {name.lower() for name in CREDENTIAL_FILES}


def read_output_dir(folder: Path) -> dict[str, DiskSource]:
    """Every file under ``folder`` by '/' relative path (skipping .DS_Store, like the vendor CLI). Nothing is
    read yet: a file's CRC is computed when the sync compares it, a chunk at a time.

    Raises:
        InputError: a symlink that leads out of ``folder`` (a build output never needs one; it could put any
            file of this machine onto the board), or a file that cannot be read.
    """
    real_folder = folder.resolve()
    found: dict[str, DiskSource] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() and not path.resolve().is_relative_to(real_folder):
            raise InputError(f"{path}: a symlink to {path.resolve()}, outside the output folder; nothing was sent",
                             hint="replace the link with the file, or remove it from the build output")
        if path.is_file() and path.name != ".DS_Store":
            try:
                found[path.relative_to(folder).as_posix()] = DiskSource.stat(path)
            except OSError as exc:
                raise InputError(f"{path}: cannot read it ({exc.strerror}); nothing was sent",
                                 hint="check the file's permissions, or rebuild the app") from exc
    return found


def check_upload_path(path: str) -> None:
    """Refuse a destination the board cannot take (spec §7.2: ASCII, at most 8 path elements).

    Raises:
        InputError: naming the file.
    """
    problem = upload_path_problem(path)
    if problem is not None:
        hint = "rename the file" if "ASCII" in problem else "flatten the output folder"
        raise InputError(f"{path!r}: {problem}", hint=hint)


def read_output_dir_checked(folder: Path) -> dict[str, DiskSource]:
    """The app output to sync, refusing a folder that would make the sync wipe the board.

    Raises:
        InputError: missing, not a folder, empty, or no App.dll (the Meadow OS runs App.dll).
    """
    if not folder.is_dir():
        raise InputError(f"{folder}: output folder does not exist", hint="build the app first (dotnet build), or fix "
                         "output-dir / --output-dir")
    local = read_output_dir(folder)
    if "App.dll" not in local:
        raise InputError(f"{folder}: no App.dll in the output folder; syncing it would delete the app from the board",
                         hint="point output-dir at the build output (e.g. MeadowApp/bin/Debug/netstandard2.1)")
    for path in local:
        check_upload_path(path)
    return local


def list_remote_tree(device: MeadowDevice, folder: str = MEADOW_ROOT, prefix: str = "") -> dict[str, int | None]:
    """The board's files below /meadow0/ by relative path → CRC, skipping persistent folders and names
    that are not ASCII (the protocol cannot address them, so they are neither compared nor deleted)."""
    found: dict[str, int | None] = {}
    if prefix.count("/") >= MAX_PATH_ELEMENTS:  # a board that lists folders without end: never recurse forever
        raise DeviceRejectedError(f"{device.transport.name}: the board lists folders nested deeper than "
                                  f"{MAX_PATH_ELEMENTS} levels below {MEADOW_ROOT} ({prefix}…)",
                                  hint="its file system may be damaged; reformat it with the Meadow CLI")
    for entry in device.list_files(folder, crc=True):
        if not entry.name.isascii() or entry.name in ("", ".", "..") or "/" in entry.name or not \
                entry.name.isprintable():
            continue  # the protocol cannot address it, or it would lead out of or back into this folder
        if entry.is_dir:
            if not prefix and entry.name in PERSISTENT_FOLDERS:
                continue
            found.update(list_remote_tree(device, f"{folder}{entry.name}/", f"{prefix}{entry.name}/"))
        else:
            found[prefix + entry.name] = entry.crc
    return found
