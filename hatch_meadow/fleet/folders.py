"""Device folders of a fleet: a safe folder name per device id, written whole or not at all.

A device folder is staged complete as ``OUT/.staging-*`` (files fsynced) and renamed into place; a
re-issue renames the old folder to ``OUT/.replaced-<name>-*`` first and removes it after. A killed run
leaves only those hidden folders, which :func:`recover` settles: staging is removed, a replaced folder
whose successor is missing is put back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from hatch_meadow.atomicfile import fsync_folder
from hatch_meadow.creds.files import mode_for, new_private_folder, write_new

STAGING: Final = ".staging-"
REPLACED: Final = ".replaced-"
#: Characters of a device id that stay as they are in its folder name; anything else (``% * ? : #`` and a
#: leading ``.``) becomes %XX, so the name is valid on every OS, never ``.``/``..`` and maps back one to one.
_SAFE: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.,=@()+!$'")


def folder_name(device_id: str) -> str:
    """The device's folder name under OUT (reversible; equal to the id for ordinary ids)."""
    out = []
    for index, char in enumerate(device_id):
        if char in _SAFE and not (index == 0 and char == "."):
            out.append(char)
        else:
            out.append("".join(f"%{b:02X}" for b in char.encode()))
    return "".join(out)


def write_folder(target: Path, files: Mapping[str, bytes], *, replace: bool) -> None:
    """Create ``target`` holding ``files`` (secrets 0600) in one rename; with ``replace`` an existing folder
    is swapped out (and removed) instead of refused.

    Raises:
        FileExistsError: ``target`` exists and ``replace`` is False.
        OSError: the folder cannot be written (nothing is left in place of ``target`` that was not there).
    """
    parent = target.parent
    staging = new_private_folder(parent, f"{STAGING}{target.name}-")
    try:
        for name, data in files.items():
            write_new(staging / name, data, mode_for(name))
        fsync_folder(staging)
        if os.path.lexists(target):
            if not replace:
                raise FileExistsError(target)
            aside = new_private_folder(parent, f"{REPLACED}{target.name}-")
            os.replace(target, aside / "old")  # the old set, kept until the new one is in place
            os.rename(staging, target)
            fsync_folder(parent)
            _remove(aside)
        else:
            os.rename(staging, target)
            fsync_folder(parent)
    except BaseException:
        _remove(staging)
        raise


def recover(out: Path) -> list[str]:
    """Settle what a killed run left in ``out``; notes of what was done."""
    notes: list[str] = []
    try:
        entries = sorted(out.iterdir())
    except OSError:
        return notes
    for entry in entries:
        if entry.is_symlink() or not entry.is_dir():
            continue
        if entry.name.startswith(STAGING):
            _remove(entry)
            notes.append(f"removed {entry.name}, a device folder an interrupted run had not finished")
        elif entry.name.startswith(REPLACED):
            name = entry.name[len(REPLACED):].rsplit("-", 1)[0]
            old, target = entry / "old", out / name
            if old.is_dir() and not os.path.lexists(target):
                os.rename(old, target)
                notes.append(f"put back {name}, which an interrupted re-issue had set aside")
            _remove(entry)
    return notes


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(path)
