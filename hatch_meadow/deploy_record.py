"""This machine's deploy record: which credential set each board last received (no secrets).

The board deletes the three files after importing them at boot (spec §10.2), so it can never say whether it
already has a set; the record, kept once per machine and keyed by board serial, lets an unchanged set be
skipped. Every change re-reads the file under a lock and saves it atomically.
"""

from __future__ import annotations

import errno
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from hatch_meadow.atomicfile import save_atomic

if TYPE_CHECKING:
    from hatch_meadow.deploy import CredentialSet

RECORD_FILE: Final = "deploy-record.json"
RECORD_SCHEMA: Final = 2
RECORD_LOCK_WAIT_S: Final = 5.0


@dataclass
class DeployRecord:
    """What was deployed to which board: serial → {digest, thumbprint, time}. No secrets.

    One record per machine (:func:`~hatch_meadow.userstate.machine_state_dir`), so a set deployed
    from any folder replaces what another folder deployed to the same board. Every change re-reads
    the file under a lock and saves it atomically: two deploys to two boards never lose an entry.
    """

    path: Path
    boards: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path | None = None) -> DeployRecord:
        """The record in ``folder`` (default: this machine's state folder); empty if missing or unreadable."""
        if folder is None:
            from hatch_meadow.userstate import machine_state_dir

            folder = machine_state_dir()
        path = folder / RECORD_FILE
        return cls(path, _read_boards(path))

    def has(self, serial: str, digest: str) -> bool:
        """True if this exact set was the last one deployed to this board."""
        entry = self.boards.get(serial)
        return isinstance(entry, dict) and entry.get("digest") == digest

    def remember(self, serial: str, creds: CredentialSet) -> None:
        """Record a deploy (replacing whatever set this board had before)."""
        def change(entry: dict[str, Any]) -> None:
            entry.update({"digest": creds.digest, "thumbprint": creds.thumbprint, "clear": creds.clear,
                          "time": datetime.now(timezone.utc).isoformat(timespec="seconds")})

        self._update(serial, change)

    def forget(self, serial: str) -> None:
        """Forget which set this board has (a deploy to it failed part way): the next deploy sends the set."""
        def change(entry: dict[str, Any]) -> None:
            for key in ("digest", "thumbprint", "clear", "time"):
                entry.pop(key, None)

        self._update(serial, change)

    def runtime_pending(self, serial: str) -> bool:
        """True if a deploy disabled this board's runtime and was interrupted before enabling it again."""
        entry = self.boards.get(serial)
        return isinstance(entry, dict) and entry.get("runtime_disabled_by_us") is True

    def mark_runtime(self, serial: str, *, disabled_by_us: bool) -> None:
        """Note (before disabling) or clear (after enabling) that we switched the board's app off; saved at once."""
        def change(entry: dict[str, Any]) -> None:
            if disabled_by_us:
                entry["runtime_disabled_by_us"] = True
            else:
                entry.pop("runtime_disabled_by_us", None)

        self._update(serial, change)

    def _update(self, serial: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Re-read, change this board's entry, save: under the record's lock (waits up to 5 s for it)."""
        from hatch_meadow.locking import Locked, exclusive

        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        deadline = time.monotonic() + RECORD_LOCK_WAIT_S
        while True:
            try:
                with exclusive(self.path.with_name(RECORD_FILE + ".lock")):
                    boards = _read_boards(self.path)
                    found = boards.get(serial)
                    entry: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
                    change(entry)
                    if entry:
                        boards[serial] = entry
                    else:
                        boards.pop(serial, None)
                    payload = {"schema_version": RECORD_SCHEMA, "boards": boards}
                    save_atomic(self.path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode(),
                                mode=0o600)
                    self.boards = boards
                    return
            except Locked:
                if time.monotonic() >= deadline:
                    raise OSError(errno.EWOULDBLOCK, "locked by another deploy for too long") from None
                time.sleep(0.02)


def _read_boards(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    boards = data.get("boards", {}) if isinstance(data, dict) else {}
    return {k: v for k, v in boards.items() if isinstance(v, dict)} if isinstance(boards, dict) else {}
