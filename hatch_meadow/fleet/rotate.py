"""``fleet rotate``: new keys and certificates for the devices whose certificates expire soon (or for the ones
named), while the boards still on the old sets keep connecting.

Start: the manifest first records, for each chosen device, the thumbprint being replaced
(``previous_sha256_thumbprint``: that is the commit point); then each old folder is moved under
``OUT/.retired/<time>/`` and a new one issued. iothub-import.jsonl and azure.sh then register the new
thumbprint as primary and the old one as secondary (for ``--auth self-signed``; a CA-authenticated fleet
needs no change at the hub). ``fleet deploy`` sends the new sets to the same boards (``deployed_to`` is
kept). A killed rotation resumes on the next ``fleet rotate``. ``--finish`` drops the old thumbprints
(writing ``azure-rotate-finish.sh``) and deletes the retired sets.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Final

from hatch_meadow.errors import InputError
from hatch_meadow.fleet.ca import FleetCA
from hatch_meadow.fleet.devices import DeviceRow
from hatch_meadow.fleet.folders import recover
from hatch_meadow.fleet.issue import IssueOptions, IssueSummary, count_entry, run_issue
from hatch_meadow.fleet.manifest import Entry, az_thumbprint_update, read_fleet, write_outputs

RETIRED: Final = ".retired"
FINISH_SCRIPT: Final = "azure-rotate-finish.sh"


@dataclass(frozen=True, slots=True)
class RotationChoice:
    """Which devices to rotate: those named, else those whose certificate ends within ``expires_within`` days."""

    device_ids: frozenset[str] = frozenset()
    expires_within: int = 30


def rotate_fleet(ca: FleetCA, out: Path, options: IssueOptions, choice: RotationChoice, *,
                 jobs: int = 1, now: datetime | None = None) -> IssueSummary:
    """Start (or resume) a rotation; the summary counts the re-issued devices as ``issued``.

    Raises:
        InputError: no manifest; an unknown device id; a device whose earlier rotation is not finished.
    """
    from hatch_meadow.creds.files import writer_lock

    summary = IssueSummary(out)
    with writer_lock(out):
        summary.notes.extend(recover(out))
        info, entries = read_fleet(out)
        # A rotation killed half-way: devices not re-issued yet, or re-issued but not yet in the manifest.
        pending = [i for i, e in enumerate(entries) if e.previous_sha256_thumbprint
                   and (e.sha256_thumbprint == e.previous_sha256_thumbprint or not _rotated(out, e))]
        if pending:
            summary.notes.append(f"resuming the interrupted rotation of {len(pending)} device(s)")
            chosen = pending
        else:
            chosen = _choose(entries, choice, now or datetime.now(timezone.utc))
            busy = [entries[i].device_id for i in chosen if entries[i].previous_sha256_thumbprint]
            if busy:
                raise InputError(f"the last rotation of {', '.join(busy[:5])} is not finished; a second one would lock "
                                 "out boards still on the oldest set", hint="deploy the new sets, then run "
                                 "`hatch-meadow fleet rotate --finish`")
            if not chosen:
                summary.notes.append("no device needs rotating")
                return summary
            for index in chosen:  # the commit point: the manifest names what is being replaced
                entries[index] = entries[index].replace(previous_sha256_thumbprint=entries[index].sha256_thumbprint)
            write_outputs(out, info, entries)
        retired = out / RETIRED / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        retired.mkdir(mode=0o700, parents=True, exist_ok=True)
        for index in chosen:
            folder = out / entries[index].folder
            if os.path.lexists(folder) and not _rotated(out, entries[index]):
                os.rename(folder, retired / entries[index].folder)
        rows = [DeviceRow(entries[i].device_id, entries[i].serial_number, 0) for i in chosen]
        fresh = dict(zip(chosen, run_issue(ca, rows, out, options, jobs), strict=True))
        for index, made in fresh.items():
            old = entries[index]
            entries[index] = made.replace(deployed_to=old.deployed_to, deployed_at=None,
                                           previous_sha256_thumbprint=old.previous_sha256_thumbprint)
            count_entry(summary, entries[index])
        write_outputs(out, info, entries)
        if not any(retired.iterdir()):
            retired.rmdir()
    return summary


def finish_rotation(out: Path) -> tuple[int, Path | None]:
    """Drop the replaced thumbprints and delete the retired sets; (devices finished, the az script or None).

    Raises:
        InputError: no manifest, no rotation in progress, or a device not re-issued yet.
    """
    from hatch_meadow.atomicfile import save_atomic
    from hatch_meadow.creds.files import writer_lock

    with writer_lock(out):
        info, entries = read_fleet(out)
        rotating = [i for i, e in enumerate(entries) if e.previous_sha256_thumbprint]
        if not rotating:
            raise InputError(f"{out}: no rotation in progress", hint="`hatch-meadow fleet rotate` starts one")
        unfinished = [entries[i].device_id for i in rotating if not _rotated(out, entries[i])]
        if unfinished:
            raise InputError(f"{len(unfinished)} device(s) are not re-issued yet ({', '.join(unfinished[:5])}); "
                             "nothing was changed", hint="run `hatch-meadow fleet rotate` again to finish issuing")
        script = None
        if info.auth == "self-signed":
            lines = [az_thumbprint_update(entries[i].device_id, entries[i].sha256_thumbprint or "",
                                          entries[i].sha256_thumbprint or "") for i in rotating]
            script = out / FINISH_SCRIPT
            save_atomic(script, ("#!/bin/sh\n# Drop the replaced thumbprints (written by `hatch-meadow fleet rotate "
                                 '--finish`).\nset -eu\n: "${HUB:?set HUB to your IoT hub name}"\n'
                                 + "\n".join(lines) + "\n").encode(), mode=0o755)
        for index in rotating:
            entries[index] = entries[index].replace(previous_sha256_thumbprint=None)
        write_outputs(out, info, entries)
        shutil.rmtree(out / RETIRED, ignore_errors=True)
    return len(rotating), script


def _rotated(out: Path, entry: Entry) -> bool:
    """True when the device's folder holds a set other than the one being replaced."""
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from hatch_meadow.names import CLIENT_CERT

    try:
        certificate = x509.load_pem_x509_certificate((out / entry.folder / CLIENT_CERT).read_bytes())
    except (OSError, ValueError):
        return False
    digest = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return digest != entry.previous_sha256_thumbprint


def _choose(entries: list[Entry], choice: RotationChoice, now: datetime) -> list[int]:
    if choice.device_ids:
        known = {e.device_id for e in entries}
        unknown = sorted(choice.device_ids - known)
        if unknown:
            raise InputError(f"not in the fleet: {', '.join(unknown[:5])}", hint="name devices of the manifest")
        chosen = [i for i, e in enumerate(entries) if e.device_id in choice.device_ids]
        unusable = [entries[i].device_id for i in chosen if entries[i].state not in ("issued", "kept")]
        if unusable:
            raise InputError(f"cannot rotate {', '.join(unusable[:5])}: no usable set yet",
                             hint="issue them first (`hatch-meadow fleet issue`)")
        return chosen
    horizon = now + timedelta(days=choice.expires_within)
    return [i for i, e in enumerate(entries)
            if e.state in ("issued", "kept") and e.not_after and datetime.fromisoformat(e.not_after) < horizon]
