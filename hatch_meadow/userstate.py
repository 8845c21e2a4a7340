"""This machine's hatch-meadow state, shared by every project and folder: the deploy record and port locks.

What a board holds is a fact about the board, not about the folder a deploy was started from, so
it is kept once per user: ``$HATCH_MEADOW_STATE_DIR`` if set, else the platform's user state folder
(``~/.local/state/hatch-meadow`` on Linux, ``~/Library/Application Support/hatch-meadow`` on macOS,
``%LOCALAPPDATA%\\hatch-meadow`` on Windows). No secrets are ever written here.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Final

STATE_DIR_ENV: Final = "HATCH_MEADOW_STATE_DIR"


def machine_state_dir(*, create: bool = False) -> Path:
    """The folder (created 0700 when ``create``).

    Raises:
        OSError: it cannot be created.
    """
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        folder = Path(override)
    elif sys.platform.startswith("linux"):
        # platformdirs' rule on Linux (XDG Base Directory spec), without its import on every short command.
        base = os.environ.get("XDG_STATE_HOME", "").strip()
        folder = Path(base if os.path.isabs(base) else os.path.expanduser("~/.local/state")) / "hatch-meadow"
    else:
        from platformdirs import user_state_dir

        folder = Path(user_state_dir("hatch-meadow", appauthor=False))
    if create:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def port_lock_paths(port: str) -> list[Path]:
    """The lock file for a serial port, by the name as given, so it stays ours while the board reboots and its
    device node comes and goes. (Two names of one device, e.g. ``/dev/serial/by-id/…`` and ``/dev/ttyACM0``,
    are kept apart by the exclusive open of the device itself; a lock by device node would wrongly refuse
    another board that the OS gives the node a rebooting board had.)

    Raises:
        OSError: the state folder cannot be created.
    """
    name = os.path.abspath(port) if "://" not in port else port
    folder = machine_state_dir(create=True) / "locks"
    folder.mkdir(mode=0o700, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "port"
    return [folder / f"{safe[-120:]}.lock"]


def folder_lock_path(folder: Path) -> Path:
    """The writer lock of a credentials folder (by its real path), kept here so the folder holds only the
    user's files.

    Raises:
        OSError: the state folder cannot be created.
    """
    import zlib  # not hashlib (~2 ms to import; `generate` is a short command): a shared tag only serialises

    real = os.fsencode(os.path.realpath(folder))
    tag = f"{zlib.crc32(real):08x}{zlib.adler32(real):08x}{len(real):x}"
    locks = machine_state_dir(create=True) / "locks"
    locks.mkdir(mode=0o700, exist_ok=True)
    return locks / f"credentials-{tag}.lock"
