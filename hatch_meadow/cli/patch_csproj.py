"""``hatch-meadow patch-csproj``: make a .csproj copy the credential files to the build output."""

from __future__ import annotations

import os
from pathlib import Path

import click

from hatch_meadow.config import COPY_MODES


@click.command("patch-csproj", short_help="Make a .csproj copy the credential files to the build output.")
@click.argument("csproj", type=click.Path(path_type=Path))
@click.option("-f", "--files", "files", multiple=True, metavar="F",
              help="A file to copy (repeatable), relative to the csproj's folder. "
                   "Default: client_cert.pem, private_key.pem, private_key_pass.txt in that folder.")
@click.option("--mode", type=click.Choice(COPY_MODES), default="Always", show_default=True,
              help="CopyToOutputDirectory value.")
@click.option("--condition", metavar="COND", default=None,
              help="MSBuild condition on the managed ItemGroup, e.g. \"'$(Configuration)' == 'Debug'\".")
@click.option("--remove", is_flag=True, help="Remove hatch-meadow's ItemGroup instead (what `hatch clean` does).")
@click.option("--dry-run", is_flag=True, help="Print a unified diff of the change and write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with what changed.")
def patch_csproj(
    csproj: Path, files: tuple[str, ...], mode: str, condition: str | None,
    remove: bool, dry_run: bool, as_json: bool,
) -> int:
    """Add <None Update|Include="…"><CopyToOutputDirectory>Always</…></None> items for the credential files.

    Items go into one <ItemGroup Label="hatch-meadow">; an item the project already has for a file is
    fixed in place instead. `Update` where MSBuild already has an item for the file (the SDK's default
    items), `Include` where it has none (default items off in the project, Directory.Build.props or
    Directory.Build.targets; no SDK; a file outside the project folder); each line says which and why.
    Everything else in the file stays byte for byte the same, and nothing is written when nothing
    changes. Exit 2 (file untouched) for a missing, unreadable, read-only or malformed csproj, or an
    item (in it or in Directory.Build.props/.targets) that keeps a credential file out. With
    --dry-run: exit 1 when a change is pending (like `update --dry-run`), 0 when the file is already right.
    """
    from hatch_meadow.cli.console import emit_json, out_console
    from hatch_meadow.config import text_problem
    from hatch_meadow.csproj import clean_csproj, ensure_csproj
    from hatch_meadow.errors import InputError

    for option, value in (("--condition", condition), *(("--files", f) for f in files)):
        if value is not None and (problem := text_problem(value)):
            raise InputError(f"{option} {value!r}: {problem}", hint="remove it (nothing was changed)")
    csproj = _the_csproj(csproj)
    if remove:
        result = clean_csproj(csproj, dry_run=dry_run)
    else:
        relative = [_relative_to(csproj.parent, f) for f in files] or None
        for name in relative or []:
            if name in ("", ".", "..") or name.endswith("/"):
                raise InputError(f"--files {name!r}: not a file name", hint="pass a file path relative to the "
                                 "csproj's folder, e.g. -f client_cert.pem")
        result = ensure_csproj(csproj, relative, mode=mode, condition=condition, dry_run=dry_run)
    if as_json:
        payload = result.to_json()
        payload["dry_run"] = dry_run
        if dry_run:
            payload["diff"] = result.diff()
        emit_json(payload)
        return 1 if dry_run and result.changed else 0
    console = out_console()
    if dry_run:
        diff = result.diff()
        click.echo(diff if diff else f"{csproj}: no change needed", nl=not diff)
        return 1 if diff else 0
    for change in result.changes:
        where = f" (line {change.line})" if change.line else ""
        console.print(f"{change.file}: {change.action}{where}: {change.detail}", markup=False)
    for warning in result.warnings:
        console.print(f"warning: {warning}", markup=False)
    console.print(f"{csproj}: {'updated' if result.written else 'unchanged, not rewritten'}", markup=False)
    return 0


def _the_csproj(given: Path) -> Path:
    """A folder stands for the one .csproj in it (or, if none, within two levels below it).

    Raises:
        InputError: none, or several to choose from (listed).
    """
    from hatch_meadow.errors import InputError
    from hatch_meadow.project import find_csproj_candidates

    if not given.is_dir() or given.suffix.lower() == ".csproj":
        return given  # a folder named like a project file: the patch says what is wrong with it
    found = find_csproj_candidates(given, depth=0) or find_csproj_candidates(given)
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError(f"{given}: a folder with no .csproj in it or two levels below it",
                         hint="pass the Meadow app's .csproj file")
    import shlex

    listed = ", ".join(shlex.quote(str(p)) for p in found)
    raise InputError(f"{given}: a folder with {len(found)} .csproj files ({listed})",
                     hint="pass the one that is the Meadow app")


def _relative_to(folder: Path, file: str) -> str:
    path = Path(file)
    if path.is_absolute():
        return Path(os.path.relpath(path, folder.resolve())).as_posix()
    return path.as_posix()
