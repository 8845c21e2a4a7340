"""``hatch-meadow rotate``: a new key and certificate while devices on the old one keep connecting."""

from __future__ import annotations

import os
from pathlib import Path

import click

from hatch_meadow.cli.options import dir_option, project_option
from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS, KEY_TYPES


@click.command("rotate", short_help="Replace the credentials, keeping the old thumbprint registered for now.")
@project_option()
@dir_option("Folder of the set (default: the project's credentials-dir, else the current folder).")
@click.option("--key-type", type=click.Choice(KEY_TYPES), default=None, help="Default: the project's, else rsa-2048.")
@click.option("--key-encryption", type=click.Choice(KEY_ENCRYPTIONS), default=None,
              help="Default: the project's, else aes-256.")
@click.option("--days", type=click.IntRange(1, 36500), default=None, help="Validity of the new certificate.")
@click.option("--passphrase-env", default=None, help="Take the new passphrase from this variable if set.")
@click.option("--hub", default=None, help="IoT Hub name for the az line (else the placeholder YOUR-IOT-HUB).")
@click.option("--finish", is_flag=True, help="End the rotation: drop the old thumbprint, delete the old set.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (schema_version 1; no secrets).")
def rotate(project: Path, directory: Path | None, key_type: str | None, key_encryption: str | None,
           days: int | None, passphrase_env: str | None, hub: str | None, finish: bool, as_json: bool) -> int:
    """Make a new key and certificate (same options as `generate`, same device id as the old certificate),
    after copying the old set aside (under the project's .hatch-meadow/retired/, 0600), and print the
    registration update that makes the new thumbprint primary and keeps the old one secondary, so devices
    on either set keep connecting while they are re-provisioned. `rotate --finish` prints the update that
    drops the old thumbprint and deletes the old set. A second rotate before --finish is refused (it
    would lock out devices still on the oldest set); an interrupted rotate resumes.

    Exit codes: 0 done, 2 nothing to rotate or a rotation already in progress.
    """
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.config import hub_name_problem
    from hatch_meadow.creds.validate import unusable_reason
    from hatch_meadow.errors import InputError
    from hatch_meadow.rotation import RETIRED_DIR, az_update_command, finish_rotation, start_rotation
    from hatch_meadow.settings import resolve_settings
    from hatch_meadow.textsafe import printable

    if hub is not None and (problem := hub_name_problem(hub)):
        raise InputError(f"--hub: {problem}", hint="give the IoT Hub's name, e.g. my-meadow-hub")
    settings = resolve_settings(project)
    target = settings.credentials_dir(directory)
    if finish:
        if key_type or key_encryption or days or passphrase_env:
            raise InputError("--finish makes nothing new: --key-type, --key-encryption, --days and --passphrase-env "
                             "do not apply", hint="leave them out")
        done = finish_rotation(target)
        assert done.new_sha256 is not None
        az = az_update_command(done.device_id, done.new_sha256, done.new_sha256, hub)
        if as_json:
            emit_json({"ok": True, "finished": True, **done.to_json(), "az": az})
        else:
            click.echo(printable(f"rotation finished: the old certificate {done.old_sha256} is no longer needed; "
                                 f"deleted its copy {done.retired}"))
            click.echo("drop the old thumbprint from the registration:")
            click.echo(printable(az))
        return 0
    root = settings.layout.root if settings.layout is not None else target
    config = settings.config

    def make_new() -> None:
        from hatch_meadow.creds.generate import generate_credentials
        from hatch_meadow.creds.passphrase import passphrase_from_env
        from hatch_meadow.rotation import current_thumbprint

        env_name = passphrase_env or config.passphrase_env
        _, old_cn = current_thumbprint(target)
        generate_credentials(target, device_id=old_cn or config.device_id or "", key_type=key_type or config.key_type,
                             key_encryption=key_encryption or config.key_encryption,
                             days=days or config.validity_days, passphrase=passphrase_from_env(os.environ, env_name),
                             passphrase_source=f"env:{env_name}", force=True)

    unusable = unusable_reason(target)
    rotation = start_rotation(target, root / RETIRED_DIR, make_new)
    assert rotation.new_sha256 is not None
    az = az_update_command(rotation.device_id, rotation.new_sha256, rotation.old_sha256, hub)
    if as_json:
        emit_json({"ok": True, "finished": False, **rotation.to_json(), "az": az})
        return 0
    if unusable is not None:
        click.echo(printable(f"note: the old set was not usable ({unusable}), so no board can be using it; its "
                             "thumbprint stays secondary only until --finish"), err=True)
    click.echo(printable(f"new set in {target}: SHA-256 {rotation.new_sha256}"))
    click.echo(printable(f"old set kept in {rotation.retired} (SHA-256 {rotation.old_sha256})"))
    click.echo("register both (new primary, old secondary) so every device keeps connecting:")
    click.echo(printable(az))
    click.echo("then deploy the new set to each device (hatch-meadow deploy), and finish: hatch-meadow rotate --finish")
    return 0
