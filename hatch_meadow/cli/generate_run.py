"""``hatch-meadow generate`` without click: what the command does once its options are parsed (by click, or by
the fast lane for well-formed command lines, :mod:`hatch_meadow.cli.fastlane`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hatch_meadow.creds.generate import Generated


def run(project: Path, directory: Path | None, device_id: str | None, key_type: str | None,
        key_encryption: str | None, days: int | None, passphrase_env: str | None, force: bool,
        keep_key: bool, as_json: bool) -> int:
    """Generate (or re-issue the certificate) and print; the exit code. Raises MeadowError for unusable input."""
    from hatch_meadow.creds.generate import generate_credentials
    from hatch_meadow.creds.passphrase import passphrase_from_env
    from hatch_meadow.errors import InputError
    from hatch_meadow.settings import resolve_settings

    settings = resolve_settings(project)
    config = settings.config
    target = settings.credentials_dir(directory)
    chosen_id = device_id or config.device_id
    if not chosen_id:
        raise InputError("no device id", hint="pass --device-id (it becomes the certificate's CN)")
    env_name = passphrase_env or config.passphrase_env
    if keep_key:
        from hatch_meadow.creds.generate import reissue_certificate

        if key_type or key_encryption or passphrase_env:
            raise InputError("--keep-key keeps the key: --key-type, --key-encryption and --passphrase-env do not "
                             "apply", hint="leave them out, or leave out --keep-key for a new key")
        made = reissue_certificate(target, device_id=chosen_id, days=days or config.validity_days,
                                   profile=config.profile)
        return _report(made, env_name, as_json=as_json)
    chosen_passphrase = passphrase_from_env(os.environ, env_name)
    made = generate_credentials(
        target, device_id=chosen_id,
        key_type=key_type or config.key_type,
        key_encryption=key_encryption or config.key_encryption,
        days=days or config.validity_days,
        passphrase=chosen_passphrase, passphrase_source=f"env:{env_name}", force=force,
    )
    return _report(made, env_name, as_json=as_json)


def _report(made: Generated, env_name: str, *, as_json: bool) -> int:
    from hatch_meadow.azure import az_register_command
    from hatch_meadow.cli.console import emit_json, plain_console

    az = az_register_command(made.device_id, made.sha256)
    if as_json:
        emit_json({"ok": True, "directory": str(made.directory), "files": [str(p) for p in made.files],
                   "device_id": made.device_id, "key_type": made.key_type, "key_encryption": made.key_encryption,
                   "passphrase": made.passphrase_source, "not_after": made.not_after.isoformat(),
                   "thumbprints": {"sha1": made.sha1, "sha256": made.sha256}, "az": az})
        return 0
    console = plain_console()
    for path in made.files:
        console.print(f"wrote {path}")
    source = {"generated": "a new random passphrase (it is in private_key_pass.txt, 0600)",
              "none": "no passphrase (unencrypted key; empty pass file)",
              "kept": "the key and pass file kept; a new certificate"}.get(
        made.passphrase_source, f"the passphrase from ${env_name}")
    console.print(f"{made.key_type}, {made.key_encryption}, {source}")
    console.print(f"CN={made.device_id}, valid until {made.not_after:%Y-%m-%d %H:%M} UTC")
    console.print(f"SHA-256 thumbprint {made.sha256}")
    console.print(f"SHA-1   thumbprint {made.sha1}")
    console.print(az)
    return 0
