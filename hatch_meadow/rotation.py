"""Certificate rotation without taking devices offline (issue #12 `rotate`).

IoT Hub holds two thumbprints per X.509 device. ``start_rotation`` sets the current set aside, makes a new one
and gives the registration update that makes the new thumbprint primary and keeps the old one secondary, so
boards on either set keep connecting while they are re-provisioned; ``finish_rotation`` gives the update that
drops the old thumbprint and deletes the set-aside copy.

Order, so a crash never loses a set: the old set is copied aside (staged, fsynced, renamed as one folder) and
the pending rotation recorded *before* the new set replaces it (itself one crash-safe commit, see
``creds.files``). A rotation interrupted before the new set was written resumes on the next ``rotate``.

Where things go: the copy under ``<project>/.hatch-meadow/retired/<UTC time>/`` (folders 0700, files 0600;
``.hatch-meadow/`` is git-ignored by its own ``.gitignore`` and never a symlink), never beside the csproj's
items; the pending record (thumbprints and that path, no secret) in this machine's state folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

from hatch_meadow.azure import DEVICE_PLACEHOLDER, HUB_PLACEHOLDER
from hatch_meadow.errors import CredentialError, InputError
from hatch_meadow.names import CLIENT_CERT, CREDENTIAL_FILES

RETIRED_DIR: Final = Path(".hatch-meadow") / "retired"


@dataclass(frozen=True, slots=True)
class Rotation:
    """A rotation in progress: the set-aside copy and both thumbprints (SHA-256, as registered)."""

    directory: Path
    device_id: str | None
    old_sha256: str
    new_sha256: str | None
    retired: Path
    started: str

    def to_json(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "device_id": self.device_id, "old_sha256": self.old_sha256,
                "new_sha256": self.new_sha256, "retired": str(self.retired), "started": self.started}


def az_update_command(device_id: str | None, primary: str, secondary: str, hub: str | None = None) -> str:
    """``az iot hub device-identity update`` setting both thumbprints, every value shell-quoted."""
    return shlex.join(["az", "iot", "hub", "device-identity", "update", "--hub-name", hub or HUB_PLACEHOLDER,
                       "--device-id", device_id or DEVICE_PLACEHOLDER, "--primary-thumbprint", primary,
                       "--secondary-thumbprint", secondary])


def _record_path(directory: Path) -> Path:
    from hatch_meadow.userstate import machine_state_dir

    tag = hashlib.sha256(os.fsencode(os.path.realpath(directory))).hexdigest()[:24]
    return machine_state_dir() / "rotations" / f"{tag}.json"


def pending_rotation(directory: Path) -> Rotation | None:
    """The rotation in progress for the set in ``directory``, if any."""
    try:
        data = json.loads(_record_path(directory).read_text(encoding="utf-8"))
        return Rotation(directory, data["device_id"], data["old_sha256"], data.get("new_sha256"),
                        Path(data["retired"]), data["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_record(rotation: Rotation) -> None:
    from hatch_meadow.atomicfile import save_atomic
    from hatch_meadow.userstate import machine_state_dir

    path = _record_path(rotation.directory)
    machine_state_dir(create=True)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    save_atomic(path, (json.dumps(rotation.to_json(), indent=2) + "\n").encode(), mode=0o600)


def current_thumbprint(directory: Path) -> tuple[str, str | None]:
    """(SHA-256, CN) of the certificate in ``directory``.

    Raises:
        InputError: no readable certificate there (nothing to rotate).
    """
    from hatch_meadow.creds.thumbprint import load_thumbprint

    if not (directory / CLIENT_CERT).is_file():
        raise InputError(f"{directory / CLIENT_CERT}: no certificate, so there is nothing to rotate",
                         hint="make the first set with `hatch-meadow generate`")
    made = load_thumbprint(directory)
    return made.sha256, made.device_id


def set_aside(directory: Path, retired_root: Path) -> Path:
    """Copy the set in ``directory`` to a new folder under ``retired_root`` (0700/0600), as one rename.

    Raises:
        CredentialError: ``.hatch-meadow`` (or a folder below it) is a symlink, or the copy failed; nothing
            is left half-written.
    """
    from hatch_meadow.atomicfile import fsync_folder
    from hatch_meadow.creds.files import mode_for, write_new

    state_root = retired_root.parent
    for folder in (state_root, retired_root):
        if folder.is_symlink():
            raise CredentialError(f"{folder}: is a symlink; hatch-meadow never writes keys through one",
                                  hint="remove the link (hatch-meadow creates the folder itself)")
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
    ignore = state_root / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# hatch-meadow: retired credentials, never for git\n*\n")
    import shutil

    for leftover in retired_root.glob(".staging-*"):  # a copy a killed rotate left half-made
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    staging = retired_root / f".staging-{stamp}"
    final = retired_root / stamp
    staging.mkdir(mode=0o700)
    try:
        for name in CREDENTIAL_FILES:
            if (directory / name).is_file():
                write_new(staging / name, (directory / name).read_bytes(), mode_for(name))
        fsync_folder(staging)
        os.replace(staging, final)
        fsync_folder(retired_root)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise CredentialError(f"{retired_root}: could not set the current set aside ({exc.strerror}); nothing "
                              "was changed", hint="check free disk space and permissions") from exc
    return final


def start_rotation(directory: Path, retired_root: Path, make_new: Any) -> Rotation:
    """Set the current set aside, record the rotation, then ``make_new()`` (which replaces the set, crash-safe).

    Raises:
        InputError: nothing to rotate, or a rotation is already in progress (finish it first).
        CredentialError: from setting aside or from ``make_new``.
    """
    old_sha256, device_id = current_thumbprint(directory)
    pending = pending_rotation(directory)
    if pending is not None and old_sha256 != pending.old_sha256:
        raise InputError(f"{directory}: a rotation is already in progress (started {pending.started}; devices may "
                         f"still use the old certificate {pending.old_sha256[:16]}…); rotating again would lock "
                         "them out", hint="re-provision the devices, then `hatch-meadow rotate --finish`; rotate "
                         "again after that")
    if pending is None:  # a pending record whose old set is still in place: interrupted before the new one; resume
        retired = set_aside(directory, retired_root)
        pending = Rotation(directory, device_id, old_sha256, None,
                           retired, datetime.now(timezone.utc).isoformat(timespec="seconds"))
        _save_record(pending)
    make_new()
    new_sha256, _ = current_thumbprint(directory)
    rotation = Rotation(directory, device_id, old_sha256, new_sha256, pending.retired, pending.started)
    _save_record(rotation)
    return rotation


def finish_rotation(directory: Path) -> Rotation:
    """Forget the old thumbprint: delete the set-aside copy and the record; the caller prints the update.

    Raises:
        InputError: no rotation in progress for this set.
    """
    import shutil

    pending = pending_rotation(directory)
    if pending is None:
        raise InputError(f"{directory}: no rotation in progress", hint="start one with `hatch-meadow rotate`")
    new_sha256, _ = current_thumbprint(directory)
    shutil.rmtree(pending.retired, ignore_errors=True)
    _record_path(directory).unlink(missing_ok=True)
    return Rotation(directory, pending.device_id, pending.old_sha256, new_sha256, pending.retired, pending.started)
