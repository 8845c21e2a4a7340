"""``hatch-meadow scan``: private-key material in files, folders and archives (wheels, sdists, OTA packages)."""

from __future__ import annotations

from pathlib import Path

import click

from hatch_meadow.cli.options import dir_option


@click.command("scan", short_help="Find private keys in files, folders, wheels, sdists and .mpak packages.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@dir_option("Also look for the exact bytes of this credentials set's key and passphrase.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (schema_version 1).")
def scan(paths: tuple[Path, ...], directory: Path | None, as_json: bool) -> int:
    """Look through each PATH (a file, a folder, or an archive: zip, wheel, .mpak, tar, tar.gz, and
    archives inside those one level deep) for private-key material: PEM private-key blocks of any label,
    DER private keys and PKCS#12 files by structure, pass files by name, and with --dir the exact bytes of
    that set's key and passphrase. Each hit names the file (and the member inside an archive) and what it
    is, never the secret.

    Folders are walked without following links out of them; archives that would expand past the limits
    (1 GiB, 200 times their size, 100,000 members) are refused as bombs.

    Exit codes: 0 nothing found, 1 key material found, 2 a PATH is missing or something could not be
    scanned (listed; a pipeline should not pass what it could not check).
    """
    from hatch_meadow.cli.console import emit_json, out_console
    from hatch_meadow.errors import InputError
    from hatch_meadow.scan import scan_paths
    from hatch_meadow.textsafe import printable

    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise InputError(f"no such file or folder: {', '.join(missing)}; nothing was scanned",
                         hint="give the wheel, sdist, .mpak or build-output folder to scan")
    report = scan_paths(paths, _set_secrets(directory) if directory is not None else ())
    code = 1 if report.hits else 2 if report.not_scanned else 0
    if as_json:
        emit_json(report.to_json())
        return code
    console = out_console()
    for hit in report.hits:
        console.print(printable(f"{hit.where}: {hit.what}"), markup=False)
    for where, why in report.not_scanned:
        console.print(printable(f"not scanned: {where}: {why}"), markup=False)
    summary = f"{report.files} files ({report.archives} archives) scanned"
    if report.hits:
        console.print(f"{summary}: private-key material in {len(report.hits)}; remove it before you publish or "
                      "ship (keys travel to boards through `hatch-meadow deploy`, never inside an app or package)",
                      markup=False)
    elif report.not_scanned:
        console.print(f"{summary}: nothing found, but {len(report.not_scanned)} could not be scanned (above)",
                      markup=False)
    else:
        console.print(f"{summary}: no private-key material", markup=False)
    return code


def _set_secrets(directory: Path) -> list[bytes]:
    """The key file's and the passphrase's exact bytes (nothing else is secret in a set)."""
    from hatch_meadow.creds.files import read_credentials
    from hatch_meadow.names import PASS_FILE, PRIVATE_KEY

    files = read_credentials(directory)
    return [data for name in (PRIVATE_KEY, PASS_FILE) if (data := files[name].data)]
