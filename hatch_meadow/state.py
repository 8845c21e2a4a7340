"""A project's hatch-meadow build state (no secrets, only hashes), kept in this machine's state folder
(``projects/<hash of the project's real path>.json``, see :mod:`hatch_meadow.userstate`), never in the
project: nothing of it can reach an sdist, a wheel or a commit, whatever folder a command runs from.

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
from typing import Any

from hatch_meadow.atomicfile import save_atomic

log = logging.getLogger(__name__)


def state_file(root: Path) -> Path:
    """Where the state of the project at ``root`` is kept (the folder is not created here)."""
    import os

    from hatch_meadow.userstate import machine_state_dir

    tag = hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:24]
    return machine_state_dir() / "projects" / f"{tag}.json"


def load_state(root: Path) -> dict[str, Any]:
    """The stored state, or an empty dict if there is none or it cannot be read."""
    try:
        data = json.loads(state_file(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_state(root: Path, key: str, value: object) -> None:
    """Set one entry of the state; failures are logged, never raised (it is only a cache)."""
    path = state_file(root)
    state = load_state(root)
    if state.get(key) == value:
        return
    state[key] = value
    try:
        from hatch_meadow.userstate import machine_state_dir

        machine_state_dir(create=True)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        save_atomic(path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode(), mode=0o600)
    except OSError as exc:
        log.debug("could not save %s: %s", path, exc)


def fingerprint(*parts: bytes | str) -> str:
    """SHA-256 over length-prefixed parts (so ("ab", "c") and ("a", "bc") differ)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()
