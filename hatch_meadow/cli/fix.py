"""``hatch-meadow fix`` and ``hatch-meadow import-pfx``: repair rejected credentials, import a PFX."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import click

from hatch_meadow.cli.options import dir_option, project_option
from hatch_meadow.config import MeadowConfig
from hatch_meadow.creds.profiles import PROFILES
from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS

PFX_PASSWORD_ENV = "HATCH_MEADOW_PFX_PASSWORD"


def _default_dir(directory: Path | None, project: Path) -> tuple[Path, MeadowConfig]:
    from hatch_meadow.settings import resolve_settings

    settings = resolve_settings(project)
    return settings.credentials_dir(directory), settings.config


@click.command("fix", short_help="Re-encode a rejected key and clean the pass file, keeping key and passphrase.")
@dir_option("Folder of the files (default: the project's credentials-dir, else the current folder).")
@project_option()
@click.option("--profile", type=click.Choice(list(PROFILES)), default=None,
              help="Default: the project's, else meadow-f7.")
@click.option("--key-encryption", type=click.Choice(KEY_ENCRYPTIONS), default=None,
              help="Re-encode the key this way (default: aes-256 for an encrypted key, none for a plain one).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fix(directory: Path | None, project: Path, profile: str | None, key_encryption: str | None, as_json: bool) -> int:
    """Make rejected but readable credentials acceptable without changing the key or the passphrase.

    Re-encodes the key as traditional PEM with legacy AES-256-CBC (PKCS#8-AES from OpenSSL 3 and the
    Meadow docs' PFX recipe are the usual culprits), strips a trailing newline from private_key_pass.txt,
    writes an empty pass file next to an unencrypted key. The passphrase comes from the pass file, or
    from the passphrase variable. Exit 0 if the result validates, 1 if problems remain.
    """
    from hatch_meadow.cli.console import emit_json, out_console
    from hatch_meadow.creds.passphrase import passphrase_from_env
    from hatch_meadow.creds.repair import fix_credentials

    target, config = _default_dir(directory, project)
    env_name = config.passphrase_env
    env_passphrase = passphrase_from_env(os.environ, env_name)
    chosen = profile or config.profile
    result = fix_credentials(target, profile=chosen,
                             key_encryption=key_encryption, env_passphrase=env_passphrase,
                             device_id=config.device_id)
    report = result.report
    ok = report is not None and report.ok
    if as_json:
        emit_json({"ok": ok, "changes": result.changes, "check": report.to_json() if report else None})
        return 0 if ok else 1
    from hatch_meadow.findings import located

    console = out_console()
    for change in result.changes or ["fix changed nothing (it re-encodes keys and cleans pass files)"]:
        console.print(change, markup=False)
    if report is not None:
        for finding in report.findings:
            console.print(f"{finding.severity} [{finding.code}] {located(finding)}", markup=False)
            if finding.fix and finding.severity == "error":
                console.print(f"          fix: {finding.fix}", markup=False)
        reason = report.usable_reason
        console.print("usable: the board can authenticate with them" if reason is None else
                      f"still not usable: {reason}", markup=False)
    return 0 if ok else 1


@click.command("import-pfx", short_help="Turn a PFX/P12 into the three credential files.")
@click.argument("pfx", type=click.Path(path_type=Path, dir_okay=False))
@dir_option("Where to write (default: the project's credentials-dir, else the current folder).")
@project_option()
@click.option("--key-encryption", type=click.Choice(KEY_ENCRYPTIONS), default="aes-256", show_default=True)
@click.option("--force", is_flag=True, help="Replace existing credential files.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def import_pfx_command(pfx: Path, directory: Path | None, project: Path, key_encryption: str, force: bool,
                       as_json: bool) -> int:
    """The Meadow docs' PFX recipe, done right: the leaf certificate as PEM, the key as traditional PEM
    with legacy AES-256-CBC (not OpenSSL 3's PKCS#8-AES, which the board rejects), the pass file with
    no trailing newline. The PFX password comes from HATCH_MEADOW_PFX_PASSWORD or a prompt; the key
    passphrase from the passphrase variable, else the PFX password, else a new random one.
    """
    from hatch_meadow.cli.console import emit_json, out_console
    from hatch_meadow.creds.passphrase import passphrase_from_env
    from hatch_meadow.creds.repair import import_pfx
    from hatch_meadow.errors import InputError

    target, config = _default_dir(directory, project)
    if not pfx.is_file():  # before asking for a password: a typo should not cost a prompt
        what = "no such file" if not pfx.exists() else "not a regular file"
        raise InputError(f"{pfx}: {what}", hint="pass the path of the .pfx / .p12 file")
    if PFX_PASSWORD_ENV in os.environ:
        pfx_password: bytes | None = os.fsencode(os.environ[PFX_PASSWORD_ENV]) or None
    elif sys.stdin.isatty():
        pfx_password = getpass.getpass(f"Password for {pfx} (empty for none): ").encode() or None
    else:
        raise InputError(f"no password for {pfx}", hint=f"set {PFX_PASSWORD_ENV} (empty for a PFX without one)")
    env_name = config.passphrase_env
    env_passphrase = passphrase_from_env(os.environ, env_name)
    notes, report = import_pfx(pfx, target, pfx_password=pfx_password, key_encryption=key_encryption,
                               passphrase=env_passphrase, force=force)
    if as_json:
        emit_json({"ok": report.ok, "notes": notes, "check": report.to_json()})
        return 0 if report.ok else 1
    console = out_console()
    console.print(f"wrote the three credential files to {target}", markup=False)
    for note in notes:
        console.print(note, markup=False)
    if report.certificate is not None:
        console.print(f"SHA-256 thumbprint {report.certificate.sha256}", markup=False)
    for finding in report.findings:
        console.print(f"{finding.severity} [{finding.code}] {finding.message}", markup=False)
    return 0 if report.ok else 1
