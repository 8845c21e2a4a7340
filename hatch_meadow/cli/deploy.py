"""``hatch-meadow devices`` and ``hatch-meadow deploy``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hatch_meadow.cli.options import dir_option, project_option

if TYPE_CHECKING:
    from hatch_meadow.boardlog import LogLine


@click.command("devices", short_help="List Meadow boards on USB serial (VID 0x2E6A).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def devices(as_json: bool) -> int:
    """List serial ports whose USB vendor id is Wilderness Labs' (port, product, serial number)."""
    from hatch_meadow.cli.console import emit_json, out_console
    from hatch_meadow.ports import find_meadow_ports

    found = find_meadow_ports()
    if as_json:
        emit_json({"devices": [p.to_json() for p in found]})
        return 0
    console = out_console()
    if not found:
        console.print("no Meadow board found (use --port sim:// for the built-in simulated board)", markup=False)
    from hatch_meadow.textsafe import printable

    for p in found:
        console.print(printable(f"{p.port}  {p.product or '?'}  serial {p.serial_number or '?'}"), markup=False)
    return 0


def run_deploy(*, directory: Path | None, project: Path, port: str | None, force: bool, reboot: bool,
               output_dir: Path | None, as_json: bool, clear: bool, allow_network: bool = False,
               unchecked: bool = False, listen: float | None = None, ready: str | None = None) -> int:
    """Shared by `deploy` and `clear --port`: validate, open, deploy, render."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from hatch_meadow.cli.console import emit_json, err_console, out_console
    from hatch_meadow.deploy_job import plan_deploy, run_deploy_job
    from hatch_meadow.settings import resolve_settings
    from hatch_meadow.textsafe import printable

    settings = resolve_settings(project)
    job = plan_deploy(settings.config, settings.layout, credentials_dir=settings.credentials_dir(directory),
                      port=settings.port(port), output_dir=output_dir, reboot=reboot, clear=clear,
                      unchecked=unchecked, listen_seconds=listen, ready=ready)
    if job.creds.unchecked:
        err_console().print(printable(f"warning: --unchecked: sending a set `check` rejects ({job.creds.unchecked})"),
                            markup=False)
    quiet = as_json or not err_console().is_terminal
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=err_console(), disable=quiet, transient=True) as bars:
        tasks: dict[str, object] = {}

        def progress(dest: str, done: int, total: int) -> None:
            if dest not in tasks:
                tasks[dest] = bars.add_task(dest, total=max(total, 1))
            bars.update(tasks[dest], completed=done)  # type: ignore[arg-type]

        def say(message: str) -> None:
            err_console().print(printable(message), markup=False)

        def console_line(line: LogLine) -> None:
            if not as_json:
                say(f"board {line.stream}: {line.text}")

        result = run_deploy_job(job, force=force, progress=progress, info=None if as_json else say, warn=say,
                                allow_network=allow_network, on_line=console_line)
    if as_json:
        emit_json(result.to_json())
    else:
        out_console().print(printable(
            f"{result.serial}: credentials {result.credentials}; {len(result.sent)} file(s), {result.file_bytes} "
            f"bytes sent, {len(result.skipped)} unchanged, {len(result.deleted)} deleted, {result.reboots} "
            f"restart(s), {result.seconds:.2f} s"), markup=False)
    return _report_board_log(result.board_log, job.listen_seconds, as_json=as_json)


def _report_board_log(board_log: dict[str, Any] | None, seconds: float, *, as_json: bool) -> int:
    """Say what the board's app reported after the deploy; 1 for a credential or TLS error."""
    from hatch_meadow.cli.console import out_console
    from hatch_meadow.textsafe import printable

    if board_log is None:
        return 0
    verdict, line = board_log["verdict"], board_log["decisive_line"]
    if as_json:
        return 1 if verdict == "error" else 0
    console = out_console()
    if verdict == "ready":
        console.print(printable(f"the board's app reports ready: {line['text']}"), markup=False)
        return 0
    if verdict == "silent":
        console.print(printable(f"the board's app printed no ready line and no credential or TLS error in "
                                f"{seconds:g} s ({len(board_log['lines'])} line(s) after the restart)"), markup=False)
        return 0
    error = line["error"]
    console.print(printable(f"the board's app reports an error: {line['text']}"), markup=False)
    for code in error["codes"]:
        names = "+".join(p["definitions"][0]["constant"] for p in code["parts"] if p["definitions"]) or "unknown"
        console.print(printable(f"  {code['code']} = {code['hex']}: {names}"), markup=False)
    if error["cause"]:
        where = next((f" ({c['file']})" for c in error["codes"] if c["file"]), "")
        console.print(printable(f"  cause{where}: {error['cause']}"), markup=False)
    for fix in error["fixes"]:
        console.print(printable(f"  fix:   {fix}"), markup=False)
    return 1


@click.command("deploy", short_help="Send the credentials (and optionally the app output) to the board.")
@dir_option("Credentials folder (default: the project's credentials-dir, else the current folder).")
@project_option()
@click.option("--port", default=None, help="Serial port, pyserial URL, sim:// or auto (default: the project's "
              "port, HATCH_MEADOW_PORT, else auto).")
@click.option("--force", is_flag=True, help="Send the credentials even if this board already has this set.")
@click.option("--no-reboot", is_flag=True, help="Do not restart the board (it imports the files at its next boot).")
@click.option("--output-dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Also sync an app's build output to /meadow0/ (changed files only; stale ones deleted).")
@click.option("--allow-network-port", "allow_network", is_flag=True,
              help="Accept a network pyserial URL (socket://, rfc2217://): the key crosses it in cleartext.")
@click.option("--listen", "listen", type=click.FloatRange(0, 600), default=None, metavar="S",
              help="After the restart, watch the board's console up to S seconds (default: the project's "
                   "listen-seconds, else 0): a credential or TLS error line fails the deploy (exit 1).")
@click.option("--ready", default=None, metavar="REGEX",
              help="With --listen: the app's ready line (default: the project's ready-pattern).")
@click.option("--unchecked", is_flag=True,
              help="Send a set that `check` rejects (with a warning), e.g. to see the board's own verdict.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary.")
def deploy_command(directory: Path | None, project: Path, port: str | None, force: bool, no_reboot: bool,
                   output_dir: Path | None, allow_network: bool, listen: float | None, ready: str | None,
                   unchecked: bool, as_json: bool) -> int:
    """Write client_cert.pem, private_key.pem and private_key_pass.txt to /meadow0/ and restart the board
    so the OS imports them; confirm they were consumed; leave the runtime as it was found.

    Refuses credentials that `check` rejects before opening the port. This machine's deploy record (board
    serial → SHA-256 of the set; no secrets) skips an unchanged set. Exit 3 for device or port problems,
    a port another program or deploy holds included.
    """
    return run_deploy(directory=directory, project=project, port=port, force=force, reboot=not no_reboot,
                      output_dir=output_dir, as_json=as_json, clear=False, allow_network=allow_network,
                      unchecked=unchecked, listen=listen, ready=ready)
