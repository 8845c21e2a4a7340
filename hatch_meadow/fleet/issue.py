"""``fleet issue``: for every device of the list, a folder with the three files the board accepts, signed by
the fleet CA; then the manifest and the Azure files.

Resumable and idempotent: a device folder that exists, passes the same ``check`` as single credentials
and chains to this CA is kept; everything else is issued (``force`` re-issues all). Each folder appears
in one rename, so a run killed at any point leaves whole folders only, and the next run finishes the rest.
Keys are made and written one device at a time (by ``jobs`` worker processes, each handed the CA key
once over its pipe), so memory stays flat whatever the size of the fleet.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hatch_meadow.creds.certbuild import CertIssuer, build_client_certificate
from hatch_meadow.creds.generate import encode_key, new_key, new_passphrase
from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS, KEY_TYPES
from hatch_meadow.errors import InputError
from hatch_meadow.fleet.ca import FleetCA, issued_by
from hatch_meadow.fleet.devices import DeviceRow
from hatch_meadow.fleet.folders import folder_name, recover, write_folder
from hatch_meadow.fleet.manifest import Auth, Entry, FleetInfo, manifest_entries, write_outputs
from hatch_meadow.fleet.pool import run_ordered
from hatch_meadow.names import CLIENT_CERT, PASS_FILE, PRIVATE_KEY


@dataclass(frozen=True, slots=True)
class IssueOptions:
    """How device credentials are made (the same choices as ``generate``)."""

    key_type: str = "rsa-2048"
    key_encryption: str = "aes-256"
    days: int = 365
    force: bool = False
    profile: str = "meadow-f7"

    def problems(self) -> list[str]:
        found = []
        if self.key_type not in KEY_TYPES:
            found.append(f"unknown key type {self.key_type!r} (use one of {', '.join(KEY_TYPES)})")
        if self.key_encryption not in KEY_ENCRYPTIONS:
            found.append(f"unknown key encryption {self.key_encryption!r} (use one of {', '.join(KEY_ENCRYPTIONS)})")
        if not 1 <= self.days <= 36500:
            found.append(f"validity of {self.days} days is out of range (1 to 36500)")
        return found


@dataclass(slots=True)
class IssueSummary:
    """Counts of a run (the per-device facts are in the manifest)."""

    out: Path
    issued: int = 0
    kept: int = 0
    requested: int = 0  # a key and a CSR, waiting for the external CA's certificate
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    failures: list[Entry] = field(default_factory=list)  # at most the first 20, for the message

    @property
    def total(self) -> int:
        return self.issued + self.kept + self.requested + self.failed


def issue_fleet(ca: FleetCA, devices: Iterable[DeviceRow], out: Path, options: IssueOptions, *, auth: Auth,
                jobs: int = 1, progress: Callable[[Entry], None] | None = None) -> IssueSummary:
    """Issue (or keep) every device's credentials under ``out`` and write the four outputs.

    Raises:
        InputError: bad options, an ``out`` that is not a folder, or another run busy in it.
    """
    with fleet_run(out, options, "issue") as summary:
        carried = {e.device_id: (e.deployed_to, e.deployed_at, e.previous_sha256_thumbprint)
                   for e in manifest_entries(out) if e.deployed_to or e.previous_sha256_thumbprint}
        def carry(entry: Entry) -> Entry:
            if entry.device_id in carried and entry.state in ("kept", "issued"):
                # The board keeps its identity; a re-issued set is not on it yet (no deployed_at). A rotation
                # in progress keeps the thumbprint it replaces.
                to, at, previous = carried[entry.device_id]
                return entry.replace(deployed_to=to, deployed_at=at if entry.state == "kept" else None,
                                     previous_sha256_thumbprint=previous)
            return entry

        write_outputs(out, FleetInfo(auth, ca.cert_path.resolve(), _cn(ca.certificate)),
                      map(carry, run_issue(ca, devices, out, options, jobs)), tally(summary, progress))
    return summary


@contextlib.contextmanager
def fleet_run(out: Path, options: IssueOptions, command: str) -> Iterator[IssueSummary]:
    """Check the options, make ``out``, hold its lock, settle what a killed run left; the run's summary.

    Raises:
        InputError: bad options, an ``out`` that is not a folder, or another run busy in it.
    """
    from hatch_meadow.creds.files import writer_lock

    problems = options.problems()
    if problems:
        raise InputError("; ".join(problems), hint=f"see `hatch-meadow fleet {command} --help`")
    prepare_out(out)
    summary = IssueSummary(out)
    with writer_lock(out):
        summary.notes.extend(recover(out))
        yield summary


def tally(summary: IssueSummary, progress: Callable[[Entry], None] | None) -> Callable[[Entry], None]:
    """Count each written entry into ``summary`` and pass it to ``progress``."""
    def each(entry: Entry) -> None:
        count_entry(summary, entry)
        if progress is not None:
            progress(entry)
    return each


def prepare_out(out: Path) -> None:
    """Make sure ``out`` is a folder we may fill (created 0700 if missing)."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise InputError(f"{out}: not a folder", hint="pass --out with a folder (it is created if missing)")
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the fleet folder ({exc.strerror})",
                         hint="check the path and its permissions") from exc


def count_entry(summary: IssueSummary, entry: Entry) -> None:
    """Add one device's outcome to the run's counts."""
    if entry.state == "issued":
        summary.issued += 1
    elif entry.state == "kept":
        summary.kept += 1
    elif entry.state == "requested":
        summary.requested += 1
    else:
        summary.failed += 1
        if len(summary.failures) < 20:
            summary.failures.append(entry)


def run_issue(ca: FleetCA, devices: Iterable[DeviceRow], out: Path, options: IssueOptions,
              jobs: int) -> Iterator[Entry]:
    """Issue or keep each device's folder (the caller holds the lock); entries in list order."""
    init_args = (ca.key_der(), ca.certificate.public_bytes(serialization.Encoding.DER), options)
    tasks = ((row.device_id, row.serial_number, str(out)) for row in devices)
    return run_ordered(_issue_one, tasks, jobs=jobs, initializer=_init_worker, init_args=init_args,
                       finalizer=_WORKER.clear)


_WORKER: dict[str, Any] = {}


def _init_worker(ca_key_der: bytes, ca_cert_der: bytes, options: IssueOptions) -> None:
    key = serialization.load_der_private_key(ca_key_der, None)
    certificate = x509.load_der_x509_certificate(ca_cert_der)
    ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    _WORKER.update(issuer=CertIssuer(certificate.subject.public_bytes(), key, ski.digest),  # type: ignore[arg-type]
                   ca_cert=certificate, options=options)


def _issue_one(task: tuple[str, str | None, str]) -> Entry:
    device_id, serial, out = task
    options: IssueOptions = _WORKER["options"]
    name = folder_name(device_id)
    folder = Path(out) / name
    base = Entry(device_id=device_id, serial_number=serial, folder=name, state="failed")
    if os.path.lexists(folder) and not options.force:
        return _existing(folder, base, _WORKER["ca_cert"], options.profile)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        return base.replace(problem=f"{folder} is not a folder; move it away")
    key = new_key(options.key_type)
    secret = b"" if options.key_encryption == "none" else new_passphrase()
    built = build_client_certificate(key, device_id, options.days, datetime.now(timezone.utc), _WORKER["issuer"])
    certificate = x509.load_der_x509_certificate(built.der)
    files = {CLIENT_CERT: built.pem,
             PRIVATE_KEY: encode_key(key, options.key_encryption, secret or None), PASS_FILE: secret}
    try:
        write_folder(folder, files, replace=options.force)
    except OSError as exc:
        return base.replace(problem=f"cannot write {folder} ({exc.strerror or exc})")
    return describe(base, certificate, "issued")


def _existing(folder: Path, base: Entry, ca_cert: x509.Certificate, profile: str) -> Entry:
    """Keep a folder that is whole, passes ``check`` and chains to this CA; say why not otherwise."""
    from hatch_meadow.creds.validate import check_credentials

    if folder.is_symlink() or not folder.is_dir():
        return base.replace(problem=f"{folder} is not a folder; move it away")
    report = check_credentials(folder, profile=profile, device_id=base.device_id)
    reason = report.usable_reason
    if reason is None and any(f.code == "cert-cn-mismatch" for f in report.findings):
        reason = "the certificate's CN is not the device id"
    if reason is None:
        certificate = x509.load_pem_x509_certificate((folder / CLIENT_CERT).read_bytes())
        if not issued_by(certificate, ca_cert):
            reason = "the certificate is not signed by this CA"
        else:
            return describe(base, certificate, "kept")
    return base.replace(problem=f"the existing folder is not usable ({reason}); --force re-issues it")


def describe(base: Entry, certificate: x509.Certificate, state: str) -> Entry:
    """``base`` in ``state`` with the certificate's thumbprints, serial and validity."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return base.replace(state=state, problem=None,
                 sha1_thumbprint=hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
                 sha256_thumbprint=hashlib.sha256(der).hexdigest().upper(),
                 cert_serial=f"{certificate.serial_number:X}",
                 not_before=certificate.not_valid_before_utc.isoformat(),
                 not_after=certificate.not_valid_after_utc.isoformat())


def _cn(certificate: x509.Certificate) -> str | None:
    values = certificate.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    return str(values[0].value) if values else None
