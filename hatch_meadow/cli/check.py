"""``hatch-meadow check``: validate the hook's options and the csproj without building."""

from __future__ import annotations

from pathlib import Path

import click

from hatch_meadow.errors import EXIT_FINDINGS, EXIT_OK


@click.command("check", short_help="Validate the hook options and the csproj without building.")
@click.option("--project", "project", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="The folder holding pyproject.toml.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(project: Path, as_json: bool) -> int:
    """Check the project as the build hook would: every option of every meadow table, then the csproj.

    Exit 0 when all is well, 1 when problems were found, 2 for invalid options or unusable input.
    """
    from hatch_meadow.cli.console import emit_json, out_console
    from hatch_meadow.project_check import check_project

    result = check_project(project.resolve())
    if as_json:
        emit_json(result.to_json())
        return EXIT_OK if result.ok() else EXIT_FINDINGS
    console = out_console()
    console.print(f"project   {result.root}", markup=False)
    if result.where:
        console.print(f"options   {result.where}: valid", markup=False)
    if result.layout is not None:
        state = "up to date" if result.csproj is not None and not result.csproj.changed else "needs changes"
        console.print(f"csproj    {result.layout.csproj.relative_to(result.root)}: {state}", markup=False)
    for finding in result.findings:
        style = {"error": "bold red", "warning": "yellow", "info": "cyan"}[finding.severity]
        where = f"{finding.file}: " if finding.file else ""
        console.print(f"[{style}]{finding.severity}[/] [{finding.code}] {where}{finding.message}",
                      highlight=False)
        if finding.fix:
            console.print(f"          fix: {finding.fix}", markup=False)
    console.print("ok" if result.ok() else "problems found", markup=False)
    return EXIT_OK if result.ok() else EXIT_FINDINGS
