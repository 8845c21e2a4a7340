"""The hook's credentials step: generate what is missing (``credentials = "generate"``), then validate.

A rebuild with unchanged files and options skips the validation (and the cryptography import): the
verdict is a pure function of the three files' bytes, the options and our version, except for the
clock, so the recorded state also says until when the certificate needs no renewal warning.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hatch_meadow import __version__
from hatch_meadow.config import MeadowConfig
from hatch_meadow.errors import FindingsError
from hatch_meadow.findings import Finding, closing_hint, located
from hatch_meadow.names import CREDENTIAL_FILES
from hatch_meadow.state import fingerprint, load_state, update_state

Report = Callable[[str], None]
_STATE_KEY = "credentials"


@dataclass(frozen=True, slots=True)
class CredentialOutcome:
    """What the step did: generated or not, and the SHA-256 thumbprint (None if not validated now)."""

    generated: bool
    sha256: str | None
    cached: bool


def _stamp(directory: Path, config: MeadowConfig) -> str | None:
    parts: list[bytes | str] = [__version__, json.dumps([config.profile, config.device_id, config.renew_before_days,
                                                         config.strict])]
    for name in CREDENTIAL_FILES:
        path = directory / name
        if path.is_symlink() or not path.is_file():
            return None
        try:
            parts.append(path.read_bytes())
        except OSError:
            return None
    return fingerprint(*parts)


def format_findings(findings: list[Finding], *, strict: bool) -> str:
    """The findings that fail the build, one per line, with their fix."""
    lines = []
    for f in findings:
        if f.severity == "error" or (strict and f.severity == "warning"):
            lines.append(f"  - [{f.code}] {located(f)}")
            if f.fix:
                lines.append(f"    fix: {f.fix}")
    return "\n".join(lines)


def ensure_credentials(
    root: Path,
    directory: Path,
    config: MeadowConfig,
    *,
    environ: Mapping[str, str] | None = None,
    info: Report,
    warn: Report,
) -> CredentialOutcome:
    """Generate missing credentials if configured, then validate them for ``config.profile``.

    Raises:
        CredentialError: generation refused (bad passphrase variable, symlink in the way…).
        FindingsError: the board would reject the files (or, under strict, there are warnings).
    """
    env = os.environ if environ is None else environ
    shown = _relative(directory, root)
    stamp = _stamp(directory, config)
    state = load_state(root).get(_STATE_KEY)
    now = datetime.now(timezone.utc)
    if stamp and isinstance(state, dict) and state.get("stamp") == stamp and \
            now.timestamp() < float(state.get("quiet_until", 0)):
        info(f"{shown}: credentials unchanged and valid (SHA-256 {state.get('sha256')})")
        return CredentialOutcome(generated=False, sha256=str(state.get("sha256")), cached=True)

    generated = False
    present = [n for n in CREDENTIAL_FILES if (directory / n).exists() or (directory / n).is_symlink()]
    if config.credentials == "generate" and not present:
        from hatch_meadow.creds.generate import generate_credentials
        from hatch_meadow.creds.passphrase import passphrase_from_env

        chosen = passphrase_from_env(env, config.passphrase_env)
        made = generate_credentials(
            directory, device_id=config.device_id or "meadow-device", key_type=config.key_type,
            key_encryption=config.key_encryption, days=config.validity_days,
            passphrase=chosen, passphrase_source=f"env:{config.passphrase_env}",
        )
        generated = True
        source = {"generated": "a new random passphrase", "none": "no passphrase"}.get(
            made.passphrase_source, f"the passphrase from ${config.passphrase_env}")
        info(f"{shown}: generated {made.key_type} credentials for {made.device_id} ({made.key_encryption}, "
             f"{source}), valid until {made.not_after:%Y-%m-%d}")
        from hatch_meadow.azure import az_register_command

        info(f"{shown}: register it: {az_register_command(made.device_id, made.sha256)}")

    from hatch_meadow.creds.validate import check_credentials

    report = check_credentials(directory, profile=config.profile, device_id=config.device_id,
                               renew_before_days=config.renew_before_days, strict=config.strict, now=now)
    if not report.ok:
        raise FindingsError(
            f"{shown}: the credentials would not work on the board (profile {config.profile}):\n"
            + format_findings(report.findings, strict=config.strict),
            hint=closing_hint(report.findings),
        )
    for finding in report.findings:
        if finding.severity == "warning":
            warn(f"{shown}: [{finding.code}] {finding.message}" + (f" (fix: {finding.fix})" if finding.fix else ""))
    sha256 = report.certificate.sha256 if report.certificate else None
    quiet = not [f for f in report.findings if f.severity != "info"]
    if report.cleared:
        info(f"{shown}: the credential files are empty: a deploy would wipe the board's stored credentials")
    elif not generated:
        info(f"{shown}: credentials valid for {config.profile}" + (f" (SHA-256 {sha256})" if sha256 else ""))
    new_stamp = _stamp(directory, config)
    if quiet and new_stamp and report.certificate is not None:
        quiet_until = report.certificate.not_after - timedelta(days=config.renew_before_days)
        update_state(root, _STATE_KEY, {"stamp": new_stamp, "sha256": sha256,
                                        "quiet_until": quiet_until.timestamp()})
    return CredentialOutcome(generated=generated, sha256=sha256, cached=False)


def _relative(path: Path, root: Path) -> str:
    try:
        text = path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
    return (text or ".") + "/"
