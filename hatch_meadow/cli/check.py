"""``hatch-meadow check``: the options, the csproj and the credentials, as the build would see them."""

from __future__ import annotations

from pathlib import Path

import click

from hatch_meadow.cli.options import dir_option, project_option
from hatch_meadow.creds.profiles import PROFILES


@click.command("check", short_help="Validate options, csproj and credentials without building.")
@project_option()
@dir_option("Check the credentials in this folder (default: the project's credentials-dir).")
@click.option("--profile", type=click.Choice(list(PROFILES)), default=None,
              help="Which Mbed TLS to predict for (default: the project's `profile`, else meadow-f7).")
@click.option("--device-id", default=None, help="Expected certificate CN (default: the project's device-id).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (also strict = true, HATCH_MEADOW_STRICT=1).")
@click.option("--with-mbedtls", is_flag=True,
              help="Also run the real Mbed TLS 2.28 parser (hatch-meadow[mbedtls], else the system's "
                   "Mbed TLS 2.28) and show both verdicts.")
@click.option("--expires-within", "expires_within", type=click.IntRange(1, 36500), default=None, metavar="DAYS",
              help="Exit 1 when the certificate expires within DAYS days (for scheduled jobs).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(project: Path, directory: Path | None, profile: str | None, device_id: str | None, strict: bool,
          with_mbedtls: bool, expires_within: int | None, as_json: bool) -> int:
    """Predict exactly whether the board's Mbed TLS accepts the credentials, and why not.

    Also validates every [tool.hatch.build.hooks.meadow] table as the hook would and reports the csproj.
    Exit 0 when all is well, 1 when problems were found, 2 for invalid options or unusable input.
    """
    from hatch_meadow.cli.check_run import run

    return run(project, directory, profile, device_id, strict, with_mbedtls, expires_within, as_json)
