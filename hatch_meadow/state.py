"""A project's local hatch-meadow state in ``<project>/.hatch-meadow/state.json`` (no secrets, only hashes).

It lets a rebuild prove cheaply that nothing changed: the build step is a pure function of the
csproj's bytes, the options and hatch-meadow's version, so when all three hash the same as after the
last successful run, there is nothing to do and no need to import lxml or parse XML again. It is a
cache: missing, unreadable or corrupt state only costs the full check.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Final

from hatch_meadow.atomicfile import save_atomic

STATE_DIR_NAME: Final = ".hatch-meadow"
STATE_FILE_NAME: Final = "state.json"
log = logging.getLogger(__name__)


def state_dir(root: Path) -> Path:
    """The project's hatch-meadow folder (kept out of git by its own ``.gitignore``)."""
    return root / STATE_DIR_NAME


def load_state(root: Path) -> dict[str, Any]:
    """The stored state, or an empty dict if there is none or it cannot be read."""
    try:
        data = json.loads((state_dir(root) / STATE_FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_state(root: Path, key: str, value: object) -> None:
    """Set one entry of the state; failures are logged, never raised (it is only a cache)."""
    folder = state_dir(root)
    state = load_state(root)
    if state.get(key) == value:
        return
    state[key] = value
    try:
        if folder.is_symlink():
            raise OSError(f"{folder} is a symlink; hatch-meadow never writes its state through one")
        if not folder.exists():
            folder.mkdir(mode=0o700)
            folder.chmod(0o700)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            save_atomic(ignore, b"# hatch-meadow's local state: never commit it\n*\n")
        save_atomic(folder / STATE_FILE_NAME, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode())
    except OSError as exc:
        log.debug("could not save %s: %s", folder, exc)


def fingerprint(*parts: bytes | str) -> str:
    """SHA-256 over length-prefixed parts (so ("ab", "c") and ("a", "bc") differ)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()
