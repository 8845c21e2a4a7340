"""``check`` as one library call: the project (options, csproj) and the credentials, merged into one report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_meadow.creds.profiles import DEFAULT_PROFILE
from hatch_meadow.errors import InputError
from hatch_meadow.findings import Finding, is_failure
from hatch_meadow.names import CREDENTIAL_FILES

if TYPE_CHECKING:
    from hatch_meadow.creds.validate import CredentialReport
    from hatch_meadow.project_check import ProjectCheck


@dataclass
class FullCheck:
    """Everything ``hatch-meadow check`` found."""

    project: ProjectCheck | None
    credentials: Any | None  # creds.validate.CredentialReport (imported lazily)
    directory: Path | None
    profile: str
    strict: bool
    findings: list[Finding] = field(default_factory=list)
    mbedtls: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """No errors anywhere (no warnings either under strict)."""
        return not is_failure(self.findings, strict=self.strict)

    def to_json(self) -> dict[str, Any]:
        """The ``check --json`` contract (ok, parse, pair, usable, profile, findings, thumbprints) plus context."""
        creds = self.credentials.to_json() if self.credentials is not None else None
        return {
            "ok": self.ok,
            "parse": creds["parse"] if creds else "reject",
            "pair": creds["pair"] if creds else "n/a",
            "usable": creds["usable"] if creds else False,
            "usable_reason": creds["usable_reason"] if creds else "no credentials were checked",
            "profile": self.profile,
            "findings": [f.to_json() for f in self.findings],
            "thumbprints": creds["thumbprints"] if creds else None,
            "credentials_dir": str(self.directory) if self.directory else None,
            "project": self.project.to_json(strict=self.strict) if self.project else None,
            "mbedtls": self.mbedtls,
        }


def run_check(
    project_dir: Path,
    *,
    credentials_dir: Path | None = None,
    profile: str | None = None,
    strict: bool = False,
    device_id: str | None = None,
    with_mbedtls: bool = False,
    expires_within: int | None = None,
) -> FullCheck:
    """Check the project at ``project_dir`` (if it has a pyproject.toml) and its credentials.

    ``expires_within``: a certificate that expires within this many days is an error (for scheduled jobs).

    Raises:
        ConfigurationError, InputError, ProjectFileError: as for the build; and when there is neither a
            project nor a ``credentials_dir`` to check.
    """
    project = None
    if (project_dir / "pyproject.toml").is_file():
        from hatch_meadow.project_check import check_project  # only inside a project (~3 ms, a short command)

        project = check_project(project_dir)
    elif credentials_dir is None:
        credentials_dir = project_dir  # no project here: check the credentials in this folder
    config = project.config if project else None
    chosen_profile = profile or (config.profile if config else DEFAULT_PROFILE)
    strict = strict or bool(config and config.strict)
    result = FullCheck(project=project, credentials=None, directory=None, profile=chosen_profile, strict=strict)
    if project:
        result.findings.extend(project.findings)
    directory = credentials_dir
    if directory is None and project and project.layout and config and config.credentials != "off":
        directory = project.layout.credentials_dir
    if directory is None:
        return result
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory}: is a file, not a folder", hint="pass the folder that holds the three files")
    result.directory = directory
    if config and config.credentials == "generate" and not any(
            (directory / n).exists() or (directory / n).is_symlink() for n in CREDENTIAL_FILES):
        result.findings.append(Finding("credentials-pending", "info", None, f"no credentials in {directory} yet; "
                                       "the next build generates them", "or run `hatch-meadow generate` now"))
        return result

    from hatch_meadow.creds.validate import check_credentials

    report = check_credentials(directory, profile=chosen_profile,
                               device_id=device_id or (config.device_id if config else None),
                               renew_before_days=config.renew_before_days if config else 30, strict=strict)
    result.credentials = report
    result.findings.extend(report.findings)
    if expires_within is not None:
        result.findings.extend(_expiry_findings(report, expires_within))
    from hatch_meadow.gitcheck import git_findings

    result.findings.extend(git_findings(directory, strict=strict))
    if with_mbedtls:
        result.mbedtls = real_mbedtls_verdict(directory, chosen_profile, report.parse)
    return result


def _expiry_findings(report: CredentialReport, days: int) -> list[Finding]:
    """``--expires-within DAYS``: an error when the certificate (still valid) expires within ``days``."""
    from datetime import datetime, timedelta, timezone

    from hatch_meadow.names import CLIENT_CERT

    cert = report.certificate
    now = datetime.now(timezone.utc)
    if cert is None or cert.not_after < now or cert.not_after - now >= timedelta(days=days):
        return []  # no certificate, or already expired (cert-expired says so), or far enough away
    left = (cert.not_after - now).days
    return [Finding("cert-expires-within", "error", CLIENT_CERT, f"the certificate expires in {left} day(s) "
                    f"({cert.not_after:%Y-%m-%d %H:%M} UTC), within --expires-within {days}",
                    "renew it before then: `hatch-meadow generate --force`, then "
                    "register the new thumbprint")]


def real_mbedtls_verdict(directory: Path, profile: str, predicted: str) -> dict[str, Any]:
    """Run the real Mbed TLS 2.28 parser (python-mbedtls) the way Meadow calls it.

    Raises:
        InputError: the optional extra is not installed.
    """
    from hatch_meadow.creds.files import read_file
    from hatch_meadow.mbedtls_oracle import MbedTLSUnavailable, load
    from hatch_meadow.names import CLIENT_CERT, PASS_FILE, PRIVATE_KEY

    try:
        real = load()
    except MbedTLSUnavailable as exc:
        raise InputError(str(exc), hint="pip install 'hatch-meadow[mbedtls]'") from exc

    def read(name: str) -> bytes | None:
        return read_file(directory, name).data

    key, cert, password = read(PRIVATE_KEY), read(CLIENT_CERT), read(PASS_FILE)
    key_result = real.parse_key(key, password or None) if key is not None else None
    cert_result = real.parse_cert(cert) if cert is not None else None
    accepted = bool(key_result and key_result.ok and cert_result and cert_result.ok)
    verdict = "accept" if accepted else "reject"
    note = None
    if verdict != predicted:
        note = (f"Mbed TLS {real.version} and the '{profile}' profile differ here; that is expected where "
                "builds differ (AES inside PKCS#8 needs 3.6, DER keys fail from 3.5, RC4 and DES vary): the "
                "profile describes the board, this library is only 2.28")
    return {
        "version": real.version,
        "parse": verdict,
        "key": None if key_result is None else {"code": key_result.code, "name": key_result.name,
                                                "message": key_result.message},
        "cert": None if cert_result is None else {"code": cert_result.code, "name": cert_result.name,
                                                  "message": cert_result.message},
        "agrees": verdict == predicted,
        "note": note,
    }
