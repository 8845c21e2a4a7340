"""Validate a set of credential files: the prediction for the board, and everything around it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization

from hatch_meadow.creds.certcheck import CertInfo, CertVerdict, check_certificate, client_auth_problem
from hatch_meadow.creds.files import FIRMWARE_BUFFER_BYTES, MAX_FILE_BYTES, FileState, read_credentials
from hatch_meadow.creds.keycheck import KeyVerdict, check_key
from hatch_meadow.creds.profiles import DEFAULT_PROFILE, PROFILES, Profile
from hatch_meadow.errors import InputError
from hatch_meadow.findings import Finding, is_failure
from hatch_meadow.names import CLIENT_CERT, PASS_FILE, PRIVATE_KEY

Pair = Literal["match", "mismatch", "n/a"]


@dataclass
class CredentialReport:
    """The result of ``check``: the JSON contract of ``check --json`` plus the parsed certificate."""

    directory: Path
    profile: str
    parse: Literal["accept", "reject"] = "reject"
    pair: Pair = "n/a"
    findings: list[Finding] = field(default_factory=list)
    certificate: CertInfo | None = None
    cleared: bool = False
    encrypted: bool = False
    key_encoding: str = ""  # for people
    key_container: str = ""  # for code (KeyVerdict.container)
    key_dek: str | None = None
    strict: bool = False

    @property
    def ok(self) -> bool:
        """No errors (no warnings either under strict)."""
        return not is_failure(self.findings, strict=self.strict)

    @property
    def usable_reason(self) -> str | None:
        """Why the board could not authenticate with this set (None when it could): parse and pair are what
        Mbed TLS says; a key that parses but cannot sign, or any other error, still makes the set unusable."""
        if self.cleared:
            return "the files are empty (they clear the board's credentials)"
        errors = [f for f in self.findings if f.severity == "error"]
        if errors:
            return f"{errors[0].code}: {errors[0].message}"
        if self.parse != "accept":
            return "Mbed TLS does not parse the files"
        if self.pair != "match":
            return "the key and the certificate do not belong together"
        return None

    def to_json(self) -> dict[str, Any]:
        """``{"ok", "parse", "pair", "usable", "usable_reason", "profile", "findings", "thumbprints"}``."""
        return {
            "ok": self.ok,
            "parse": self.parse,
            "pair": self.pair,
            "usable": self.usable_reason is None,
            "usable_reason": self.usable_reason,
            "profile": self.profile,
            "findings": [f.to_json() for f in self.findings],
            "thumbprints": None if self.certificate is None else {
                "sha1": self.certificate.sha1, "sha256": self.certificate.sha256,
            },
        }


def unusable_reason(directory: Path) -> str | None:
    """Why the set in ``directory`` cannot authenticate, or None (also when there is no key to judge by)."""
    if not (directory / PRIVATE_KEY).is_file():
        return None
    return check_credentials(directory).usable_reason


def check_credentials(
    directory: Path,
    *,
    profile: str = DEFAULT_PROFILE,
    device_id: str | None = None,
    renew_before_days: int = 30,
    strict: bool = False,
    now: datetime | None = None,
) -> CredentialReport:
    """Predict whether the board accepts the three files in ``directory``, and report every problem.

    Raises:
        InputError: an unknown profile name.
    """
    if profile not in PROFILES:
        raise InputError(f"unknown profile {profile!r}", hint=f"use one of {', '.join(PROFILES)}")
    spec = PROFILES[profile]
    report = CredentialReport(directory=directory, profile=profile, strict=strict)
    files = read_credentials(directory)
    findings = report.findings
    for state in files.values():
        _file_findings(state, findings)
    _permission_findings(files, findings)
    cert, key, passf = files[CLIENT_CERT], files[PRIVATE_KEY], files[PASS_FILE]
    if all(s.data == b"" for s in files.values()):
        report.cleared, report.parse = True, "accept"
        findings.append(Finding("cleared", "warning", None, "all three files are empty: deploying them wipes the "
                                "board's stored credentials (TLS client authentication off)",
                                "that is only right for a deliberate `hatch-meadow clear`"))
        return report
    if cert.data is None and key.data is None and not cert.problem and not key.problem:
        if passf.data is not None:  # a partial set: only the pass file is left (generate alone would refuse it)
            kind = "an empty" if not passf.data else "a"
            findings.append(Finding("credentials-partial", "error", None, f"no certificate and no key in {directory}, "
                                    f"only {kind} {PASS_FILE}: a partial set the board cannot use",
                                    "`hatch-meadow generate --force` makes a complete new set (it replaces the "
                                    "leftover pass file)"))
            return report
        findings.append(Finding("credentials-missing", "error", None, f"no credentials in {directory}",
                                "run `hatch-meadow generate` (or build with credentials = \"generate\")"))
        return report
    cert_verdict = _check_cert_file(cert, spec, findings, key_present=key.data is not None)
    key_verdict = _check_key_file(key, passf, spec, findings)
    if key_verdict is not None:
        report.encrypted, report.key_encoding = key_verdict.encrypted, key_verdict.encoding
        report.key_container, report.key_dek = key_verdict.container, key_verdict.dek
        if passf.data is None and not passf.problem and not key_verdict.encrypted and key_verdict.accepted:
            findings.append(Finding("pass-missing", "warning", PASS_FILE, f"there is no {PASS_FILE}; the board "
                                    "keeps the passphrase of an earlier provisioning and would use it",
                                    f"create an empty {PASS_FILE} (`hatch-meadow fix` does it)"))
        elif passf.data and key_verdict.accepted and key_verdict.encrypted and passf.data != passf.data.strip():
            findings.append(Finding("pass-whitespace", "warning", PASS_FILE, f"{PASS_FILE} starts or ends with "
                                    "whitespace; it works, but editors and OpenSSL's -passout file: strip it",
                                    "use a passphrase without surrounding whitespace"))
    _placeholder_findings(files, findings)
    parsed = cert_verdict is not None and cert_verdict.accepted and key_verdict is not None and key_verdict.accepted
    report.parse = "accept" if parsed else "reject"
    if cert_verdict is not None and cert_verdict.certificates:
        report.certificate = first = cert_verdict.certificates[0]
        _certificate_findings(cert_verdict, first, device_id, renew_before_days, now, findings)
        if key_verdict is not None and key_verdict.key is not None:
            report.pair = _pair(first, key_verdict, findings)
    return report


def _placeholder_findings(files: dict[str, FileState], findings: list[Finding]) -> None:
    """Name a placeholder for what it is, in place of the parse errors it causes (broken base64 and so on)."""
    from hatch_meadow.creds.placeholder import placeholder_reason

    for name, state in files.items():
        reason = None if state.data is None else placeholder_reason(name, state.data)
        if reason is None:
            continue
        findings[:] = [f for f in findings if not (f.file == name and f.severity == "error")]
        code = {CLIENT_CERT: "cert-placeholder", PRIVATE_KEY: "key-placeholder"}.get(name, "pass-placeholder")
        findings.append(Finding(code, "error", name, f"{name} is a placeholder, not a credential: it {reason}",
                                "`hatch-meadow generate --force` makes a real set (then register its thumbprint); "
                                "or put your real file here"))


def _permission_findings(files: dict[str, FileState], findings: list[Finding]) -> None:
    """Key and pass file readable by others, or reachable under a second name (POSIX only)."""
    import os
    import shlex
    import stat

    if os.name != "posix":
        return
    folder = files[PRIVATE_KEY].path.parent
    try:
        folder_mode = stat.S_IMODE(folder.stat().st_mode)
    except OSError:
        folder_mode = 0
    if folder_mode & 0o022 and not folder_mode & stat.S_ISVTX:
        findings.append(Finding("secret-folder-writable", "warning", None, f"{folder} is writable by others (mode "
                                f"{folder_mode:04o}): anyone may replace the key or the certificate",
                                f"chmod go-w {shlex.quote(str(folder))}"))
    for name in (PRIVATE_KEY, PASS_FILE):
        state = files[name]
        if not state.data:
            continue
        try:
            info = state.path.stat()
        except OSError:
            continue
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            findings.append(Finding("secret-readable", "warning", name, f"{state.path} is readable or writable by "
                                    f"others (mode {mode:04o}); it holds a secret",
                                    f"chmod 600 {shlex.quote(str(state.path))}"))
        if info.st_nlink > 1:
            findings.append(Finding("secret-hard-link", "warning", name, f"{state.path} has {info.st_nlink - 1} "
                                    "other name(s) (hard links): a copy of the secret lives elsewhere",
                                    "find them (`find / -samefile PATH`) and remove them"))


def _file_findings(state: FileState, findings: list[Finding]) -> None:
    if state.problem:
        findings.append(Finding("file-unusable", "error", state.name, f"{state.path} {state.problem}",
                                "replace it with the credential file (or remove it and run `hatch-meadow generate`)"))
    elif state.data is not None and len(state.data) > MAX_FILE_BYTES:
        findings.append(Finding("file-too-large", "error", state.name, f"{state.name} is {len(state.data)} bytes; "
                                f"Meadow stores at most {MAX_FILE_BYTES}", "use a smaller key (RSA-2048 or EC P-256)"))
    elif state.data is not None and len(state.data) >= FIRMWARE_BUFFER_BYTES:
        findings.append(Finding("file-large", "warning", state.name, f"{state.name} is {len(state.data)} bytes, "
                                f"at or over the firmware's {FIRMWARE_BUFFER_BYTES}-byte buffers",
                                "use RSA-2048 or EC P-256 and a single certificate"))


def _check_cert_file(cert: FileState, spec: Profile, findings: list[Finding], *,
                     key_present: bool) -> CertVerdict | None:
    if cert.data is None:
        if not cert.problem:
            fix = ("copy the certificate here, or issue a new one for this key: `hatch-meadow generate --keep-key` "
                   "(then register its thumbprint)") if key_present else \
                "run `hatch-meadow generate` or copy the certificate here"
            findings.append(Finding("cert-missing", "error", CLIENT_CERT, f"{CLIENT_CERT} is missing", fix))
        return None
    verdict = check_certificate(cert.data, spec)
    findings.extend(verdict.findings)
    return verdict


def _check_key_file(key: FileState, passf: FileState, spec: Profile, findings: list[Finding]) -> KeyVerdict | None:
    if key.data is None:
        if not key.problem:
            findings.append(Finding("key-missing", "error", PRIVATE_KEY, f"{PRIVATE_KEY} is missing",
                                    "copy the key here; if it is lost, `hatch-meadow generate --force` makes a new "
                                    "set (register the new thumbprint)"))
        return None
    verdict = check_key(key.data, passf.data, spec, pass_missing=passf.data is None and not passf.problem)
    findings.extend(verdict.findings)
    return verdict


def _certificate_findings(verdict: CertVerdict, first: CertInfo, device_id: str | None, renew_before_days: int,
                          now: datetime | None, findings: list[Finding]) -> None:
    moment = now or datetime.now(timezone.utc)
    if len(verdict.certificates) > 1:
        findings.append(Finding("cert-multiple", "warning", CLIENT_CERT, f"{CLIENT_CERT} holds "
                                f"{len(verdict.certificates)} certificates; the board uses the first as its own "
                                "(one certificate per client)", "keep only the device certificate in the file"))
    if first.not_after < moment:
        findings.append(Finding("cert-expired", "error", CLIENT_CERT, f"the certificate expired on "
                                f"{first.not_after:%Y-%m-%d %H:%M} UTC; the server will refuse the handshake",
                                "renew it: `hatch-meadow generate --force`, then register the new thumbprint"))
    elif first.not_before > moment:
        findings.append(Finding("cert-not-yet-valid", "error", CLIENT_CERT, f"the certificate is valid only from "
                                f"{first.not_before:%Y-%m-%d %H:%M} UTC",
                                "check the clock of the machine that made it"))
    elif first.not_after - moment < timedelta(days=renew_before_days):
        days = (first.not_after - moment).days
        findings.append(Finding("cert-expiring", "warning", CLIENT_CERT, f"the certificate expires in {days} day(s) "
                                f"({first.not_after:%Y-%m-%d} UTC)", "renew it: `hatch-meadow generate --force`"))
    if device_id is not None and first.subject_cn != device_id:
        findings.append(Finding("cert-cn-mismatch", "warning", CLIENT_CERT, f"the certificate's CN is "
                                f"{first.subject_cn!r}, not the device id {device_id!r} (Azure IoT Hub expects "
                                "CN = device id)", "regenerate with the right device id, or fix device-id"))
    problem = client_auth_problem(first)
    if problem:
        findings.append(Finding("cert-not-client-auth", "warning", CLIENT_CERT, f"the certificate may be refused "
                                f"for client authentication: {problem}", "regenerate it (`hatch-meadow generate`)"))


def key_matches(first: CertInfo, key: Any) -> bool:
    """True when ``key`` (a parsed private key) is the key of certificate ``first`` (SPKI compared as DER,
    after re-encoding the certificate's when its bytes differ)."""
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    if spki == first.spki:
        return True
    try:
        cert_key = serialization.load_der_public_key(first.spki)
        return bool(cert_key.public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo) == spki)
    except (ValueError, TypeError):
        return False


def _pair(first: CertInfo, key_verdict: KeyVerdict, findings: list[Finding]) -> Pair:
    key = key_verdict.key
    if key is None:
        return "n/a"
    if key_matches(first, key):
        return "match"
    findings.append(Finding("cert-key-mismatch", "error", CLIENT_CERT, "the first certificate does not belong to "
                            f"{PRIVATE_KEY}; the board would load both and the TLS handshake would fail",
                            "put the matching certificate first, or issue a new one for this key (`hatch-meadow "
                            "generate --keep-key`, then register its thumbprint)"))
    return "mismatch"
