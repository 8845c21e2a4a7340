"""``hatch-meadow generate``: new credentials that the board accepts the first time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hatch_meadow.cli.options import dir_option, project_option
from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS, KEY_TYPES
from hatch_meadow.names import Env

if TYPE_CHECKING:
    from hatch_meadow.creds.generate import Generated


@click.command("generate", short_help="Generate a key, a self-signed certificate and the pass file.")
@project_option("Project whose options give the defaults (default: the current folder, if it has a pyproject.toml).")
@dir_option("Where to write the files (default: the project's credentials-dir, else the current folder).")
@click.option("--device-id", default=None,
              help="Certificate CN = Azure IoT Hub device id (default: the project's device-id).")
@click.option("--key-type", type=click.Choice(KEY_TYPES), default=None, help="Default: the project's, else rsa-2048.")
@click.option("--key-encryption", type=click.Choice(KEY_ENCRYPTIONS), default=None,
              help="Legacy PEM encryption; default: the project's, else aes-256.")
@click.option("--days", type=click.IntRange(1, 36500), default=None,
              help="Validity in days (default: the project's validity-days, else 365).")
@click.option("--passphrase-env", default=None,
              help=f"Take the passphrase from this variable if set (default {Env.DEFAULT_PASSPHRASE}); "
                   "otherwise a random one is made.")
@click.option("--force", is_flag=True, help="Replace existing credential files.")
@click.option("--keep-key", is_flag=True,
              help="Keep the key and pass file; only issue a new certificate for the key (new CN or validity).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (no secrets).")
def generate(project: Path, directory: Path | None, device_id: str | None, key_type: str | None,
             key_encryption: str | None, days: int | None, passphrase_env: str | None, force: bool,
             keep_key: bool, as_json: bool) -> int:
    """Write client_cert.pem, private_key.pem (0600) and private_key_pass.txt (0600, no newline).

    The key is traditional PEM encrypted with AES-256-CBC (or DES-EDE3-CBC, or none), which every Mbed
    TLS build tested parses; the certificate is self-signed X.509 v3 with CN = device id. Never
    overwrites credentials without --force, never writes through a symlink, never prints a secret.
    """
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
    from hatch_meadow.cli.console import emit_json

    az = az_register_command(made.device_id, made.sha256)
    if as_json:
        emit_json({"ok": True, "directory": str(made.directory), "files": [str(p) for p in made.files],
                   "device_id": made.device_id, "key_type": made.key_type, "key_encryption": made.key_encryption,
                   "passphrase": made.passphrase_source, "not_after": made.not_after.isoformat(),
                   "thumbprints": {"sha1": made.sha1, "sha256": made.sha256}, "az": az})
        return 0
    for path in made.files:
        click.echo(f"wrote {path}")
    source = {"generated": "a new random passphrase (it is in private_key_pass.txt, 0600)",
              "none": "no passphrase (unencrypted key; empty pass file)",
              "kept": "the key and pass file kept; a new certificate"}.get(
        made.passphrase_source, f"the passphrase from ${env_name}")
    click.echo(f"{made.key_type}, {made.key_encryption}, {source}")
    click.echo(f"CN={made.device_id}, valid until {made.not_after:%Y-%m-%d %H:%M} UTC")
    click.echo(f"SHA-256 thumbprint {made.sha256}")
    click.echo(f"SHA-1   thumbprint {made.sha1}")
    click.echo(az)
    return 0
