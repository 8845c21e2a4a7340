"""An existing PKI (step-ca, HashiCorp Vault, a cloud CA) signs the devices: ``fleet csr`` makes each key
locally (encrypted like ``generate``) with ``request.csr`` beside it; ``fleet import-certs`` takes the
signed certificates back, matched by public key (never by file name), checks every one before writing
any, and completes the folders and the manifest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hatch_meadow.creds.generate import encode_key, new_key, new_passphrase
from hatch_meadow.errors import InputError
from hatch_meadow.fleet.devices import DeviceRow
from hatch_meadow.fleet.folders import folder_name, write_folder
from hatch_meadow.fleet.issue import IssueOptions, IssueSummary, describe, fleet_run, tally
from hatch_meadow.fleet.manifest import Auth, Entry, FleetInfo, read_fleet, write_outputs
from hatch_meadow.fleet.pool import run_ordered
from hatch_meadow.names import CLIENT_CERT, PASS_FILE, PRIVATE_KEY

REQUEST: Final = "request.csr"
MAX_CERT_FILE_BYTES: Final = 1 << 20
MAX_CERT_FILES: Final = 200_000


def request_fleet(devices: Iterable[DeviceRow], out: Path, options: IssueOptions, *, auth: Auth = "ca",
                  ca_cert: Path | None = None, jobs: int = 1,
                  progress: Callable[[Entry], None] | None = None) -> IssueSummary:
    """A key and a CSR (CN = device id, clientAuth) per device; folders that already hold a key are kept.

    Raises:
        InputError: bad options, an unusable ``out``, another run busy in it.
    """
    with fleet_run(out, options, "csr") as summary:
        tasks = ((row.device_id, row.serial_number, str(out)) for row in devices)
        write_outputs(out, FleetInfo(auth, None if ca_cert is None else ca_cert.resolve(), None),
                      run_ordered(_request_one, tasks, jobs=jobs, initializer=_init, init_args=(options,),
                                  finalizer=_OPTIONS.clear), tally(summary, progress))
    return summary


_OPTIONS: dict[str, IssueOptions] = {}


def _init(options: IssueOptions) -> None:
    _OPTIONS["options"] = options


def _request_one(task: tuple[str, str | None, str]) -> Entry:
    device_id, serial, out = task
    options = _OPTIONS["options"]
    name = folder_name(device_id)
    folder = Path(out) / name
    base = Entry(device_id=device_id, serial_number=serial, folder=name, state="failed")
    if os.path.lexists(folder) and not options.force:
        if folder.is_dir() and not folder.is_symlink() and (folder / PRIVATE_KEY).is_file():
            cert = folder / CLIENT_CERT
            if cert.is_file():
                return describe(base, x509.load_pem_x509_certificate(cert.read_bytes()), "kept")
            return base.replace(state="requested", problem=None)
        return base.replace(problem=f"{folder} exists without a key; move it away or pass --force")
    key = new_key(options.key_type)
    secret = b"" if options.key_encryption == "none" else new_passphrase()
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    files = {PRIVATE_KEY: encode_key(key, options.key_encryption, secret or None), PASS_FILE: secret,
             REQUEST: request.public_bytes(serialization.Encoding.PEM)}
    try:
        write_folder(folder, files, replace=options.force)
    except OSError as exc:
        return base.replace(problem=f"cannot write {folder} ({exc.strerror or exc})")
    return base.replace(state="requested", problem=None)


@dataclass(frozen=True, slots=True)
class Signed:
    """A certificate found in the signed-certificates folder."""

    certificate: x509.Certificate
    source: Path


def import_certificates(out: Path, certs: Path, *, ca_cert: Path | None = None, profile: str = "meadow-f7",
                        progress: Callable[[Entry], None] | None = None) -> IssueSummary:
    """Put each signed certificate of ``certs`` into the folder whose key it belongs to, then rewrite the
    outputs. Every certificate is checked before any is written.

    Raises:
        InputError: no manifest, an unreadable or non-certificate file, a certificate for no device's key,
            two for one key, one whose CN is not the device id, without clientAuth, that the board would
            refuse, or (with ``ca_cert``) not signed by that CA. Nothing is written then.
    """
    from hatch_meadow.creds.files import write_credentials, writer_lock

    ca = _load_ca_cert(ca_cert) if ca_cert is not None else None
    signed = _read_certificates(certs)
    summary = IssueSummary(out)
    with writer_lock(out):
        info, entries = read_fleet(out)
        plan: dict[str, bytes] = {}
        problems: list[str] = []
        used: set[bytes] = set()
        for entry in entries:
            folder = out / entry.folder
            if entry.state != "requested" or (folder / CLIENT_CERT).exists():
                continue
            spki = _folder_spki(folder)
            match = signed.get(spki) if spki is not None else None
            if match is None:
                continue
            used.add(spki)  # type: ignore[arg-type]
            problem = _certificate_problem(match.certificate, entry.device_id, ca, profile)
            if problem:
                problems.append(f"{match.source}: {problem}")
            else:
                plan[entry.device_id] = match.certificate.public_bytes(serialization.Encoding.PEM)
        problems.extend(f"{item.source}: belongs to no device's key in {out} (a certificate for another key)"
                        for spki, item in signed.items() if spki not in used)
        if problems:
            shown = "\n  ".join(problems[:10]) + (f"\n  … and {len(problems) - 10} more" if len(problems) > 10 else "")
            raise InputError(f"{len(problems)} signed certificate(s) cannot be used; nothing was imported:\n  {shown}",
                             hint="sign each device's request.csr with your CA (see the README) and try again")
        if ca_cert is not None:
            info = FleetInfo(info.auth, ca_cert.resolve(), info.ca_name)

        def complete(entry: Entry) -> Entry:
            if entry.device_id not in plan:
                return entry
            write_credentials(out / entry.folder, {CLIENT_CERT: plan[entry.device_id]})
            return describe(entry, x509.load_pem_x509_certificate(plan[entry.device_id]), "issued")

        write_outputs(out, info, map(complete, entries), tally(summary, progress))
    return summary


def _load_ca_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read the CA certificate ({exc.strerror})",
                         hint="pass --ca-cert FILE") from exc
    except ValueError as exc:
        raise InputError(f"{path}: not a PEM certificate", hint="pass the issuing CA's certificate (PEM)") from exc


def _read_certificates(folder: Path) -> dict[bytes, Signed]:
    """Every end-entity certificate in ``folder`` (PEM, several per file allowed, or DER), by SPKI digest."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder", hint="pass --certs with the folder of signed certificates")
    found: dict[bytes, Signed] = {}
    files = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    if len(files) > MAX_CERT_FILES:
        raise InputError(f"{folder}: {len(files)} files is more than a fleet's certificates",
                         hint="put only the signed device certificates there")
    for path in files:
        for certificate in _certificates_in(path):
            if _is_ca(certificate):
                continue  # a chain file or the CA itself: not a device's
            digest = _spki_digest(certificate.public_key())
            if digest in found and found[digest].certificate != certificate:
                raise InputError(f"{path} and {found[digest].source} are two certificates for the same key",
                                 hint="keep one certificate per device")
            found.setdefault(digest, Signed(certificate, path))
    return found


def _certificates_in(path: Path) -> Iterator[x509.Certificate]:
    if path.is_symlink() or not path.is_file():
        raise InputError(f"{path}: not a regular file", hint="put only certificate files in --certs")
    if path.stat().st_size > MAX_CERT_FILE_BYTES:
        raise InputError(f"{path}: too large for a certificate file", hint="put only certificate files in --certs")
    data = path.read_bytes()
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            yield from x509.load_pem_x509_certificates(data)
        else:
            yield x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise InputError(f"{path}: not a certificate (PEM or DER)",
                         hint="put only the signed certificates in --certs (CSRs and keys stay in the device folders)"
                         ) from exc


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _spki_digest(public_key: Any) -> bytes:
    return hashlib.sha256(public_key.public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)).digest()


def _folder_spki(folder: Path) -> bytes | None:
    """The SPKI digest of the device's key (read with its pass file, as the board would)."""
    from hatch_meadow.creds.files import read_file
    from hatch_meadow.creds.keycheck import check_key
    from hatch_meadow.creds.profiles import PROFILES

    key_file, pass_file = read_file(folder, PRIVATE_KEY), read_file(folder, PASS_FILE)
    if key_file.data is None:
        return None
    verdict = check_key(key_file.data, pass_file.data or None, PROFILES["meadow-f7"])
    return None if verdict.key is None else _spki_digest(verdict.key.public_key())


def _certificate_problem(certificate: x509.Certificate, device_id: str, ca: x509.Certificate | None,
                         profile: str) -> str | None:
    from hatch_meadow.creds.certcheck import check_certificate, client_auth_problem
    from hatch_meadow.creds.profiles import PROFILES
    from hatch_meadow.fleet.ca import issued_by

    verdict = check_certificate(certificate.public_bytes(serialization.Encoding.PEM), PROFILES[profile])
    errors = [f.message for f in verdict.findings if f.severity == "error"]
    if errors or not verdict.certificates:
        return f"the board would refuse it ({errors[0] if errors else 'it does not parse'})"
    info = verdict.certificates[0]
    if info.subject_cn != device_id:
        return f"its CN is {info.subject_cn!r}, not the device id {device_id!r}"
    if (problem := client_auth_problem(info)) is not None:
        return problem
    if ca is not None and not issued_by(certificate, ca):
        return "it is not signed by the CA given with --ca-cert"
    return None
