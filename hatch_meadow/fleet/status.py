"""``fleet status``: what the manifest says about every device, and which certificates expire soon."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hatch_meadow.errors import InputError
from hatch_meadow.fleet.manifest import Entry, load_manifest, manifest_entries


@dataclass(slots=True)
class FleetStatus:
    """Counts by state, deployments, and the devices that need attention."""

    out: Path
    states: dict[str, int] = field(default_factory=dict)
    deployed: int = 0
    expiring: list[Entry] = field(default_factory=list)
    expired: list[Entry] = field(default_factory=list)
    failed: list[Entry] = field(default_factory=list)
    total: int = 0

    @property
    def ok(self) -> bool:
        """Nothing failed, expired or expiring within the window."""
        return not (self.failed or self.expired or self.expiring)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "out": str(self.out), "devices": self.total, "states": self.states,
                "deployed": self.deployed, "expired": [e.device_id for e in self.expired],
                "expiring": [{"device_id": e.device_id, "not_after": e.not_after} for e in self.expiring],
                "failed": [{"device_id": e.device_id, "problem": e.problem} for e in self.failed]}


def fleet_status(out: Path, *, expires_within: int = 30, now: datetime | None = None) -> FleetStatus:
    """Read ``out``'s manifest.

    Raises:
        InputError: no manifest, or one this version cannot read.
    """
    if load_manifest(out) is None:
        raise InputError(f"{out}: no fleet manifest here", hint="run `hatch-meadow fleet issue --out OUT` first")
    moment = now or datetime.now(timezone.utc)
    horizon = moment + timedelta(days=expires_within)
    status = FleetStatus(out)
    for entry in manifest_entries(out):
        status.total += 1
        status.states[entry.state] = status.states.get(entry.state, 0) + 1
        status.deployed += entry.deployed_to is not None
        if entry.state == "failed":
            status.failed.append(entry)
        if entry.not_after:
            end = datetime.fromisoformat(entry.not_after)
            if end < moment:
                status.expired.append(entry)
            elif end < horizon:
                status.expiring.append(entry)
    return status
