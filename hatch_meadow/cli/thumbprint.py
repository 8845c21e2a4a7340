"""``hatch-meadow thumbprint``: what Azure IoT Hub needs to register the device."""

from __future__ import annotations

from pathlib import Path

import click

from hatch_meadow.cli.options import dir_option, project_option


@click.command("thumbprint", short_help="Print the certificate's SHA-1/SHA-256 thumbprints and the az line.")
@dir_option("Folder with client_cert.pem (default: the project's credentials-dir, else the current folder).")
@project_option()
@click.option("--hub", default=None, help="IoT Hub name for the az line (else the placeholder YOUR-IOT-HUB).")
@click.option("--force", is_flag=True, help="Print the az line even for a set the board cannot use.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def thumbprint(directory: Path | None, project: Path, hub: str | None, force: bool, as_json: bool) -> int:
    """Uppercase hex SHA-1 and SHA-256 of the DER certificate, and the exact
    `az iot hub device-identity create … --am x509_thumbprint --ptp TP --stp TP` line.

    When the private key is there too, the set is checked first: registering a certificate the board
    cannot use (a key that does not match it, a key Mbed TLS rejects) only hides the problem, so an
    unusable set gets exit 1 and no az line, unless --force.
    """
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.config import hub_name_problem
    from hatch_meadow.creds.thumbprint import load_thumbprint
    from hatch_meadow.creds.validate import unusable_reason
    from hatch_meadow.errors import InputError
    from hatch_meadow.settings import resolve_settings

    if hub is not None and (problem := hub_name_problem(hub)):
        raise InputError(f"--hub: {problem}", hint="give the IoT Hub's name, e.g. my-meadow-hub")
    if directory is None:
        directory = resolve_settings(project).credentials_dir()
    tp = load_thumbprint(directory)
    unusable = unusable_reason(directory)
    show_az = unusable is None or force
    if as_json:
        emit_json({"ok": unusable is None, "device_id": tp.device_id, "sha1": tp.sha1, "sha256": tp.sha256,
                   "usable": unusable is None, "usable_reason": unusable,
                   "az": tp.az_command(hub) if show_az else None})
        return 0 if unusable is None else 1
    from hatch_meadow.textsafe import printable

    click.echo(printable(f"device id  {tp.device_id}"))
    click.echo(f"SHA-256    {tp.sha256}")
    click.echo(f"SHA-1      {tp.sha1}")
    if unusable is not None:
        click.echo(printable(f"warning: the board cannot use this set ({unusable}); `hatch-meadow check` says "
                             "why" + ("" if force else "; no az line (--force prints it anyway)")), err=True)
    if show_az:
        click.echo(printable(tp.az_command(hub)))
    return 0 if unusable is None else 1
