"""``hatch-meadow clear``: empty credential files, the documented way to wipe the board's stored ones."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hatch_meadow.cli.options import dir_option, project_option


@click.command("clear", short_help="Empty the credential files, or wipe the board's stored ones (--port).")
@dir_option("Folder of the files (default: the project's credentials-dir, else the current folder).")
@project_option()
@click.option("--port", default=None,
              help="Instead of writing local files, send three empty files to the board at this port now.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (pipelines).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def clear(directory: Path | None, project: Path, port: str | None, yes: bool, as_json: bool) -> int:
    """Replace client_cert.pem, private_key.pem and private_key_pass.txt with empty files (or, with
    --port, send three empty files to the board, which wipes its stored credentials).

    Meadow keeps imported credentials until empty files are deployed over them; this prepares that.
    The current key is lost: asks first unless --yes.
    """
    from hatch_meadow.cli.console import emit_json, out_console
    from hatch_meadow.creds.files import write_credentials
    from hatch_meadow.errors import InputError
    from hatch_meadow.names import CREDENTIAL_FILES
    from hatch_meadow.settings import resolve_settings

    if port is not None:
        from hatch_meadow.cli.deploy import run_deploy

        if not yes and not sys.stdin.isatty():
            raise InputError("refusing to wipe the board's credentials without confirmation", hint="pass --yes")
        if not yes and not click.confirm(f"Wipe the TLS client credentials stored on the board at {port}?"):
            click.echo("cancelled; nothing changed", err=True)
            return 1
        return run_deploy(directory=directory, project=project, port=port, force=True, reboot=True, output_dir=None,
                          as_json=as_json, clear=True)
    settings = resolve_settings(project)
    directory = settings.credentials_dir(directory)
    in_project = settings.layout is not None and directory.resolve() == settings.layout.credentials_dir.resolve()
    if not in_project and not any((directory / name).exists() for name in CREDENTIAL_FILES):
        raise InputError(f"{directory}: no credential files here and not a hatch-meadow project's credentials "
                         "folder; nothing to clear", hint="pass --dir with the folder that holds client_cert.pem, "
                         "or --project with the project (nothing was written)")
    if not yes:
        if not sys.stdin.isatty():
            raise InputError("refusing to clear credentials without confirmation",
                             hint="pass --yes (nothing was changed)")
        if not click.confirm(f"Replace the credentials in {directory} with empty files? The key is lost"):
            click.echo("cancelled; nothing changed", err=True)
            return 1
    written = write_credentials(directory, {name: b"" for name in CREDENTIAL_FILES}, force=True)
    if as_json:
        emit_json({"ok": True, "cleared": [str(p) for p in written]})
    else:
        out_console().print(f"cleared {', '.join(p.name for p in written)} in {directory}; the app's next deploy "
                            "(the csproj copies them) wipes the board's stored credentials; `hatch-meadow clear "
                            "--port PORT --yes` wipes them now", markup=False)
    return 0
