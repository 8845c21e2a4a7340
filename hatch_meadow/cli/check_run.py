"""``hatch-meadow check`` without click: what the command does once its options are parsed (by click, or by
the fast lane for well-formed command lines, :mod:`hatch_meadow.cli.fastlane`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_meadow.errors import EXIT_FINDINGS, EXIT_OK, InputError

if TYPE_CHECKING:
    from hatch_meadow.checking import FullCheck
    from hatch_meadow.cli.console import PlainConsole
    from hatch_meadow.project_check import ProjectCheck


def run(project: Path, directory: Path | None, profile: str | None, device_id: str | None, strict: bool,
        with_mbedtls: bool, expires_within: int | None, as_json: bool) -> int:
    """Check and print; the exit code (0 ok, 1 problems found). Raises MeadowError for unusable input."""
    from hatch_meadow.checking import run_check
    from hatch_meadow.cli.console import emit_json, plain_console

    try:
        result = run_check(project.resolve(), credentials_dir=directory, profile=profile, strict=strict,
                           device_id=device_id, with_mbedtls=with_mbedtls, expires_within=expires_within)
    except InputError as exc:
        missing = exc.__cause__
        if with_mbedtls:
            from hatch_meadow.mbedtls_oracle import MbedTLSUnavailable

            if isinstance(missing, MbedTLSUnavailable):  # say what is missing, and what to install on this Python
                raise InputError(f"--with-mbedtls: {missing}", hint=missing.hint) from missing
        raise
    if result.mbedtls is not None:
        from hatch_meadow.mbedtls_oracle import load

        real = load()  # loaded (and cached) by run_check
        result.mbedtls["library"] = {"origin": real.origin, "path": real.library}
    code = EXIT_OK if result.ok else EXIT_FINDINGS
    if as_json:
        emit_json(result.to_json())
        return code
    # Plain click output (no rich): `check` is a short command, run by scripts and pipelines in loops.
    console = plain_console()
    if result.project is not None:
        _print_project(console, result.project)
    if result.credentials is not None:
        _print_credentials(console, result)
    if result.mbedtls is not None:
        _print_mbedtls(console, result.mbedtls)
    _print_findings(console, result)
    console.print("ok" if result.ok else "problems found", markup=False)
    return code


def _print_project(console: PlainConsole, project: ProjectCheck) -> None:
    console.print(f"project   {project.root}", markup=False)
    if project.where:
        console.print(f"options   {project.where}: valid", markup=False)
    if project.layout is None:
        return
    pending = project.csproj is not None and project.csproj.changed
    state = "needs changes" if pending else "up to date"
    console.print(f"csproj    {project.layout.csproj.relative_to(project.root)}: {state}", markup=False)
    after_patch = pending and project.config is not None and project.config.patch_csproj
    for verdict in project.copy_verdicts():
        when = "after the next build's patch: " if after_patch else ""
        detail = verdict.detail.replace(f"{project.root}{os.sep}", "")  # paths as in `csproj`
        if verdict.copied == "no":
            detail = "NOT" + detail.removeprefix("not")
        console.print(f"copy      {verdict.file}: {when}{detail}", markup=False)


def _print_credentials(console: PlainConsole, result: FullCheck) -> None:
    """One verdict line: what Mbed TLS does (parse, pair) and whether the board can authenticate with it."""
    report = result.credentials
    assert report is not None
    usable = report.usable_reason is None
    console.print(f"creds     {result.directory} (profile {result.profile}): the board would "
                  f"{'ACCEPT' if report.parse == 'accept' else 'REJECT'} them; key/cert pair: {report.pair}; "
                  f"{'usable for TLS client authentication' if usable else 'NOT usable'}", markup=False)
    if report.certificate is not None:
        console.print(f"          SHA-256 {report.certificate.sha256}", markup=False)


def _print_mbedtls(console: PlainConsole, m: dict[str, Any]) -> None:
    console.print(f"mbedtls   real Mbed TLS {m['version']}: {m['parse']} (key: "
                  f"{(m['key'] or {}).get('name')}, cert: {(m['cert'] or {}).get('name')})", markup=False)
    console.print(f"          using the {m['library']['origin']} library {m['library']['path']}", markup=False)
    if m["note"]:
        console.print(f"          {m['note']}", markup=False)


def _print_findings(console: PlainConsole, result: FullCheck) -> None:
    from hatch_meadow.findings import located

    for finding in result.findings:
        style = {"error": "bold red", "warning": "yellow", "info": "cyan"}[finding.severity]
        console.print(finding.severity, style=style, end=" ")
        console.print(f"[{finding.code}] {located(finding)}")
        if finding.fix:
            console.print(f"          fix: {finding.fix}", markup=False)
