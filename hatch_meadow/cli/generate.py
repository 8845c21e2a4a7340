"""``hatch-meadow generate``: new credentials that the board accepts the first time."""

from __future__ import annotations

from pathlib import Path

import click

from hatch_meadow.cli.options import dir_option, project_option
from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS, KEY_TYPES
from hatch_meadow.names import Env


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
    from hatch_meadow.cli.generate_run import run

    return run(project, directory, device_id, key_type, key_encryption, days, passphrase_env, force, keep_key,
               as_json)
