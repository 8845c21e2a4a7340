"""``hatch-meadow new`` and ``hatch-meadow update``: Meadow projects from the bundled copier template."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

if TYPE_CHECKING:
    from hatch_meadow.scaffold import UpdateResult

_BOARDS = "F7FeatherV2 | F7CoreComputeV2 | ProjectLab"


def _interactive(as_json: bool) -> bool:
    return not as_json and sys.stdin.isatty() and sys.stdout.isatty()


#: The template's questions as the flags that answer them (errors name what the user typed).
FLAGS: Final = {"project_name": "--project-name", "app_name": "--app-name", "board": "--board",
                "device_id": "--device-id", "iot_hub": "--hub", "key_type": "--key-type",
                "key_encryption": "--key-encryption", "telemetry_sample": "--telemetry",
                "commit_certificate": "--commit-certificate"}


@click.command("new", short_help="Make a new Meadow project from the bundled template.")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--board", metavar="B", default=None, help=f"{_BOARDS} (default F7FeatherV2).")
@click.option("--app-name", metavar="N", default=None,
              help="C# project, folder and namespace of the app (a C# identifier; default MeadowApp).")
@click.option("--device-id", metavar="ID", default=None,
              help="Azure IoT Hub device id = certificate CN, at most 64 characters (default: the project name).")
@click.option("--hub", metavar="H", default=None, help="Azure IoT Hub name, without .azure-devices.net.")
@click.option("--project-name", metavar="N", default=None,
              help="Python project name in pyproject.toml (default: DEST's folder name).")
@click.option("--key-type", metavar="T", default=None, help="rsa-2048 (default), rsa-3072, rsa-4096, ec-p256, ec-p384.")
@click.option("--key-encryption", metavar="E", default=None, help="aes-256 (default), des3 or none.")
@click.option("--telemetry/--no-telemetry", default=None,
              help="Include the Azure IoT Hub MQTT telemetry sample (default) or a plain LED/log app.")
@click.option("--commit-certificate", is_flag=True, default=None,
              help="Let git track client_cert.pem (the key and pass file never are).")
@click.option("--defaults", is_flag=True,
              help="Ask nothing: unanswered questions take their defaults (also when not run in a terminal).")
@click.option("--force", is_flag=True, help="Write into a non-empty DEST (the template's files are replaced).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (implies --defaults).")
def new(dest: Path, board: str | None, app_name: str | None, device_id: str | None, hub: str | None,
        project_name: str | None, key_type: str | None, key_encryption: str | None, telemetry: bool | None,
        commit_certificate: bool | None, defaults: bool, force: bool, as_json: bool) -> int:
    """Render a Meadow app + hatch-meadow build project into DEST, offline, from the bundled template.

    DEST gets pyproject.toml (the meadow hook with your answers), APP/APP.csproj and MeadowApp.cs for the
    board, the three Meadow config files, a .gitignore that keeps the key and pass file out of git, a
    README and a GitHub Actions workflow; .copier-answers.yml records the answers for `update`. Options
    answer questions; in a terminal the others are asked unless --defaults. Needs copier
    (pip install 'hatch-meadow[new]'). Exit 2 with nothing written for a bad answer, a DEST that is a
    file or not empty (without --force), or copier missing.
    """
    given = {"project_name": project_name, "app_name": app_name, "board": board, "device_id": device_id,
             "iot_hub": hub, "key_type": key_type, "key_encryption": key_encryption,
             "telemetry_sample": telemetry, "commit_certificate": commit_certificate}
    answers = {key: value for key, value in given.items() if value is not None}
    return _new(dest, answers, force=force, defaults=defaults, as_json=as_json)


def _new(dest: Path, answers: Mapping[str, object], *, force: bool, defaults: bool, as_json: bool) -> int:
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.scaffold import render_project

    result = render_project(dest, answers, force=force, defaults=defaults or not _interactive(as_json),
                            labels=FLAGS)
    if as_json:
        emit_json(result.to_json())
        return 0
    chosen = result.answers
    click.echo(f"made {dest}: {chosen['board']} app {chosen['app_name']}, device id {chosen['device_id']}, "
               f"{len(result.files)} files")
    click.echo("next:")
    click.echo(f"  cd {shlex.quote(str(dest))}")
    click.echo("  python -m pip install build               # once: the build front end")
    click.echo("  python -m build --wheel --no-isolation    # credentials + csproj (see README.md)")
    click.echo(f"  hatch-meadow thumbprint --hub {shlex.quote(str(chosen['iot_hub']))}")
    return 0


def _print_plan(result: UpdateResult, *, show_diff: bool) -> None:
    from hatch_meadow.cli.console import err_console

    console = err_console()
    if show_diff and result.diff:
        sys.stdout.write(result.diff)
        sys.stdout.flush()
    console.print(f"update of {result.dest} ({result.mode}, from {result.from_version or 'unknown'} to "
                  f"{result.to_version}, template {result.template}):", markup=False)
    for change in result.changes:
        console.print(f"  {change.action:<8} {change.path}: {change.detail}", markup=False)
    for note in result.notes:
        console.print(f"  note: {note}", markup=False)
    if not result.changes:
        console.print("  up to date: nothing to change", markup=False)


@click.command("update", short_help="Bring a project made by `new` to the newest template.")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False), default=Path("."))
@click.option("--template", "template", metavar="SRC", default=None,
              help="The newer template: a git URL/path with release tags, or a folder (default: the one recorded, "
                   "else the installed hatch-meadow's).")
@click.option("-y", "--yes", is_flag=True, help="Write the changes without asking.")
@click.option("--dry-run", is_flag=True, help="Show the diff and what would change; write nothing.")
@click.option("--no-diff", is_flag=True, help="Do not print the diff.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (with the diff); needs --yes to write.")
def update(dest: Path, template: str | None, yes: bool, dry_run: bool, no_diff: bool, as_json: bool) -> int:
    """Apply what a newer template changed to DEST (default: the current folder), keeping your edits.

    With a reachable git template that has the project's `_commit` tag and a clean git work tree, copier's
    3-way merge runs (conflicts get inline markers). Otherwise the newest template is rendered with the
    stored answers and compared file by file: files only the template changed are replaced, files only
    you changed are kept, and where both changed yours is kept and the template's version is written
    as FILE.new. The changes and their diff are shown before anything is written; in a terminal you are
    asked, elsewhere pass --yes. Exit 0 when applied or up to date, 1 when changes are pending (dry run or not
    confirmed), 2 for unusable input.
    """
    return _update(dest, template, yes=yes, dry_run=dry_run, show_diff=not no_diff, as_json=as_json)


def _update(dest: Path, template: str | None, *, yes: bool, dry_run: bool, show_diff: bool, as_json: bool) -> int:
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.errors import EXIT_FINDINGS
    from hatch_meadow.scaffold import update_project

    interactive = _interactive(as_json) and not dry_run and not yes

    def decide(plan: UpdateResult) -> bool:
        """Called with the planned changes, before anything is written."""
        if not as_json:
            _print_plan(plan, show_diff=show_diff)
        if dry_run:
            return False
        if yes or not interactive:
            return yes
        return click.confirm(f"write these {len(plan.changes)} change(s)?", default=False, err=True)

    result = update_project(dest, show_diff=show_diff or as_json, confirm=decide, template=template)
    if as_json:
        emit_json(result.to_json())
    elif not result.changes:
        _print_plan(result, show_diff=show_diff)
    if result.applied:
        if not as_json:
            click.echo(f"wrote {len(result.changes)} change(s)"
                       + (f"; merge by hand: {', '.join(result.conflicts)}" if result.conflicts else ""))
        return 0
    if result.changes:
        if not as_json:
            click.echo("nothing written" + ("" if dry_run or interactive else "; pass --yes to apply"))
        return EXIT_FINDINGS
    return 0
