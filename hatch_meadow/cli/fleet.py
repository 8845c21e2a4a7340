"""``hatch-meadow fleet …``: one CA, one board-accepted identity per device, Azure's bulk files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS, KEY_TYPES

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hatch_meadow.fleet.issue import IssueSummary
    from hatch_meadow.fleet.provision import BoardOutcome
    from hatch_meadow.ports import PortInfo

FOLDER = click.Path(file_okay=False, path_type=Path)
FILE = click.Path(dir_okay=False, path_type=Path)


@click.group("fleet", short_help="Per-device CA-signed credentials for a fleet, with Azure's bulk files.")
def fleet() -> None:
    """Issue one identity per board: a fleet CA (`init-ca`), per-device keys and CA-signed certificates from
    a CSV (`issue`), or CSRs for an existing PKI (`csr`, then `import-certs`); `status` reads the manifest.

    OUT holds one folder per device with the three files the board accepts (the same engine and `check`
    as `generate`), manifest.json / manifest.csv, iothub-import.jsonl (IoT Hub's bulk import format;
    upload it as devices.txt) and azure.sh (the `az` lines). The CA passphrase comes from
    $HATCH_MEADOW_CA_PASSPHRASE or --passphrase-file, never from the command line.
    """


def _passphrase_option(function: click.decorators.FC) -> click.decorators.FC:
    return click.option("--passphrase-file", type=FILE, default=None,
                        help="File whose first line is the CA passphrase (else $HATCH_MEADOW_CA_PASSPHRASE).")(function)


def _key_options(function: click.decorators.FC) -> click.decorators.FC:
    for option in reversed((
        click.option("--key-type", type=click.Choice(KEY_TYPES), default="rsa-2048", show_default=True,
                     help="Device key type."),
        click.option("--key-encryption", type=click.Choice(KEY_ENCRYPTIONS), default="aes-256", show_default=True,
                     help="Legacy PEM encryption of each device key (a random passphrase per device)."),
        click.option("--jobs", type=click.IntRange(0, 64), default=0,
                     help="Worker processes (default 0: one per CPU, at most 8)."),
        click.option("--force", is_flag=True, help="Re-issue every device, replacing existing folders."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object (schema_version 1; no secrets)."),
    )):
        function = option(function)
    return function


def _jobs(value: int) -> int:
    return value or min(os.cpu_count() or 1, 8)


@fleet.command("init-ca", short_help="Make the fleet CA (encrypted key, CA certificate).")
@click.option("--dir", "directory", type=FOLDER, required=True, help="Folder for ca_key.pem and ca_cert.pem.")
@click.option("--key-type", type=click.Choice(("ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096")),
              default="ec-p256", show_default=True, help="CA key type.")
@click.option("--days", type=click.IntRange(1, 36500), default=3650, show_default=True, help="CA validity.")
@click.option("--name", default="hatch-meadow fleet CA", show_default=True, help="The CA certificate's CN.")
@_passphrase_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (schema_version 1; no secrets).")
def init_ca_command(directory: Path, key_type: str, days: int, name: str, passphrase_file: Path | None,
                    as_json: bool) -> int:
    """Write DIR/ca_key.pem (PKCS#8, encrypted, 0600) and DIR/ca_cert.pem (CA:TRUE pathlen:0, keyCertSign,
    cRLSign, subject key identifier). Refuses to overwrite an existing CA.

    Exit codes: 0 made, 2 no passphrase, bad options or a CA already there.
    """
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.fleet.ca import CA_CERT, CA_KEY, ca_passphrase, init_ca
    from hatch_meadow.textsafe import printable

    made = init_ca(directory, passphrase=ca_passphrase(os.environ, passphrase_file), name=name, key_type=key_type,
                   days=days)
    cert = made.certificate
    if as_json:
        emit_json({"ok": True, "directory": str(directory), "key": str(directory / CA_KEY),
                   "certificate": str(directory / CA_CERT), "name": name, "key_type": key_type,
                   "not_after": cert.not_valid_after_utc.isoformat()})
        return 0
    click.echo(printable(f"wrote {directory / CA_KEY} (encrypted, 0600) and {directory / CA_CERT}"))
    click.echo(printable(f"CN={name}, {key_type}, valid until {cert.not_valid_after_utc:%Y-%m-%d} UTC"))
    click.echo("keep the key offline when you are not issuing; back it up: every device certificate depends on it")
    return 0


@fleet.command("issue", short_help="Issue per-device keys and CA-signed certificates from a CSV.")
@click.option("--ca", "ca_dir", type=FOLDER, required=True, help="The CA folder (from `fleet init-ca`).")
@click.option("--devices", type=FILE, required=True,
              help="CSV with a header: device_id (required), serial_number (optional).")
@click.option("--out", type=FOLDER, required=True, help="Fleet folder: one folder per device, manifest, Azure files.")
@click.option("--days", type=click.IntRange(1, 36500), default=365, show_default=True, help="Device validity.")
@click.option("--auth", type=click.Choice(("self-signed", "ca")), default="ca", show_default=True,
              help="How IoT Hub authenticates the devices: by thumbprint, or by the CA (x509_ca).")
@_passphrase_option
@_key_options
def issue_command(ca_dir: Path, devices: Path, out: Path, days: int, auth: str, passphrase_file: Path | None,
                  key_type: str, key_encryption: str, jobs: int, force: bool, as_json: bool) -> int:
    """For each CSV row, OUT/<device_id>/ with client_cert.pem (CN = device id, clientAuth, signed by the CA),
    private_key.pem (0600) and private_key_pass.txt (0600). A folder that already passes `check` and chains
    to the CA is kept, so a rerun (or a run after an interrupted one) issues only what is missing.

    Exit codes: 0 every device issued or kept, 1 some failed (listed; see manifest.json), 2 bad input.
    """
    from hatch_meadow.fleet.ca import ca_passphrase, load_ca
    from hatch_meadow.fleet.devices import read_devices
    from hatch_meadow.fleet.issue import IssueOptions, issue_fleet

    rows = read_devices(devices)
    ca = load_ca(ca_dir, ca_passphrase(os.environ, passphrase_file))
    options = IssueOptions(key_type=key_type, key_encryption=key_encryption, days=days, force=force)
    summary = issue_fleet(ca, rows, out, options, auth="ca" if auth == "ca" else "self-signed", jobs=_jobs(jobs))
    return _report(summary, as_json=as_json)


@fleet.command("csr", short_help="Make per-device keys and CSRs for an existing CA to sign.")
@click.option("--devices", type=FILE, required=True, help="CSV with a header: device_id, serial_number (optional).")
@click.option("--out", type=FOLDER, required=True, help="Fleet folder: OUT/<device_id>/request.csr and the key.")
@click.option("--auth", type=click.Choice(("self-signed", "ca")), default="ca", show_default=True,
              help="How IoT Hub will authenticate the devices (for iothub-import.jsonl and azure.sh).")
@click.option("--ca-cert", type=FILE, default=None, help="The external CA's certificate (for azure.sh).")
@_key_options
def csr_command(devices: Path, out: Path, auth: str, ca_cert: Path | None, key_type: str, key_encryption: str,
                jobs: int, force: bool, as_json: bool) -> int:
    """For each CSV row, OUT/<device_id>/private_key.pem (0600, encrypted), private_key_pass.txt and
    request.csr (CN = device id, clientAuth). Sign the requests with your CA (step-ca, Vault, a cloud CA;
    see the README), then `fleet import-certs`.

    Exit codes: 0 done, 1 some devices failed, 2 bad input.
    """
    from hatch_meadow.fleet.devices import read_devices
    from hatch_meadow.fleet.external import request_fleet
    from hatch_meadow.fleet.issue import IssueOptions

    options = IssueOptions(key_type=key_type, key_encryption=key_encryption, force=force)
    summary = request_fleet(read_devices(devices), out, options, auth="ca" if auth == "ca" else "self-signed",
                            ca_cert=ca_cert, jobs=_jobs(jobs))
    return _report(summary, as_json=as_json)


@fleet.command("import-certs", short_help="Complete the device folders with certificates your CA signed.")
@click.option("--out", type=FOLDER, required=True, help="The fleet folder made by `fleet csr`.")
@click.option("--certs", type=FOLDER, required=True,
              help="Folder of signed certificates (PEM or DER, any file names; matched by public key).")
@click.option("--ca-cert", type=FILE, default=None, help="Require every certificate to be signed by this CA.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (schema_version 1; no secrets).")
def import_certs_command(out: Path, certs: Path, ca_cert: Path | None, as_json: bool) -> int:
    """Match each certificate in CERTS to the device whose key it certifies, check it (CN = device id,
    clientAuth, accepted by the board, signed by --ca-cert if given) and write it as client_cert.pem. Any
    unusable certificate stops the import before anything is written.

    Exit codes: 0 done, 1 some devices failed, 2 an unusable certificate or folder.
    """
    from hatch_meadow.fleet.external import import_certificates

    return _report(import_certificates(out, certs, ca_cert=ca_cert), as_json=as_json)


@fleet.command("status", short_help="Show which devices are issued, deployed and expiring.")
@click.option("--out", type=FOLDER, required=True, help="The fleet folder.")
@click.option("--expires-within", type=click.IntRange(0, 36500), default=30, show_default=True,
              help="Report certificates that expire within this many days.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (schema_version 1; no secrets).")
def status_command(out: Path, expires_within: int, as_json: bool) -> int:
    """Read OUT/manifest.json: devices by state, how many are deployed, which failed, expired or expire soon.

    Exit codes: 0 all well, 1 something failed, expired or expires within the window, 2 no manifest.
    """
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.fleet.status import fleet_status
    from hatch_meadow.textsafe import printable

    status = fleet_status(out, expires_within=expires_within)
    if as_json:
        emit_json(status.to_json())
        return 0 if status.ok else 1
    states = ", ".join(f"{count} {state}" for state, count in sorted(status.states.items()))
    click.echo(printable(f"{out}: {status.total} device(s): {states}; {status.deployed} deployed"))
    for entry in status.failed:
        click.echo(printable(f"failed    {entry.device_id}: {entry.problem}"))
    for entry in status.expired:
        click.echo(printable(f"expired   {entry.device_id} on {entry.not_after}"))
    for entry in status.expiring:
        click.echo(printable(f"expiring  {entry.device_id} on {entry.not_after}"))
    return 0 if status.ok else 1


def _report(summary: IssueSummary, *, as_json: bool) -> int:
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.fleet.manifest import MANIFEST_JSON
    from hatch_meadow.textsafe import printable

    code = 1 if summary.failed else 0
    if as_json:
        emit_json({"ok": code == 0, "out": str(summary.out), "issued": summary.issued, "kept": summary.kept,
                   "requested": summary.requested, "failed": summary.failed, "notes": summary.notes,
                   "failures": [{"device_id": e.device_id, "problem": e.problem} for e in summary.failures],
                   "manifest": str(summary.out / MANIFEST_JSON)})
        return code
    for note in summary.notes:
        click.echo(printable(f"note: {note}"))
    for entry in summary.failures:
        click.echo(printable(f"failed  {entry.device_id}: {entry.problem}"), err=True)
    click.echo(printable(f"{summary.total} device(s): {summary.issued} issued, {summary.kept} kept, "
                         f"{summary.requested} waiting for a certificate, {summary.failed} failed; "
                         f"see {summary.out / MANIFEST_JSON}"))
    return code


@fleet.command("deploy", short_help="Give each attached Meadow its own identity and deploy it.")
@click.option("--out", type=FOLDER, required=True, help="The fleet folder.")
@click.option("--port", "ports", multiple=True,
              help="A board's port (repeat for several; default: every Meadow found by USB vendor id).")
@click.option("--watch", is_flag=True, help="Factory-line mode: wait for boards to be plugged in, provision each.")
@click.option("--count", type=click.IntRange(1), default=None, help="With --watch: stop after this many boards.")
@click.option("--timeout", type=click.FloatRange(0.1), default=None, help="With --watch: stop after this many seconds.")
@click.option("--force", is_flag=True, help="Send each set even if this machine's record says the board has it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (schema_version 1; no secrets).")
def deploy_command(out: Path, ports: tuple[str, ...], watch: bool, count: int | None, timeout: float | None,
                   force: bool, as_json: bool) -> int:
    """For each board: read its serial number, pick its device folder (the CSV's serial_number, else the
    identity already recorded for it, else the next unassigned device), record the choice in the manifest
    before sending, then deploy with the normal deploy (checked set, skip when the board has it, proof of
    import). Several boards are served in parallel, one per port; one status line per board.

    Exit codes: 0 every board done, 2 a board maps to no device (or two share a serial), 3 a board or port
    failed (or --watch timed out before --count boards), 1 a set the board would refuse.
    """
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.errors import InputError
    from hatch_meadow.fleet.provision import deploy_fleet, watch_fleet
    from hatch_meadow.textsafe import printable

    def line(outcome: BoardOutcome) -> None:
        if as_json:
            return
        who = f"{outcome.serial or '?'} -> {outcome.device_id or '?'}"
        text = {"deployed": "deployed", "unchanged": "already has it"}.get(outcome.status, f"failed: {outcome.message}")
        click.echo(printable(f"{outcome.port}  {who}: {text} ({outcome.seconds:.1f} s)"),
                   err=outcome.status == "failed")

    if not watch and (count is not None or timeout is not None):
        raise InputError("--count and --timeout apply to --watch only", hint="add --watch, or leave them out")
    if watch:
        discover = _discover(ports)
        if not as_json:
            click.echo(f"waiting for boards ({_watch_end(count, timeout)}); Ctrl-C stops", err=True)
        run = watch_fleet(out, discover, count=count, timeout=timeout, force=force, report=line)
    else:
        run = deploy_fleet(out, ports or [p.port for p in _meadow_ports()], force=force, report=line)
    code = run.exit_code
    if watch and count is not None and len(run.provisioned) < count:
        from hatch_meadow.errors import EXIT_DEVICE

        code = max(code, EXIT_DEVICE)
        click.echo(f"timed out after {timeout:g} s with {len(run.provisioned)} of {count} board(s) provisioned",
                   err=True)
    if as_json:
        emit_json({"ok": code == 0, "out": str(out), "boards": [o.to_json() for o in run.outcomes],
                   "provisioned": len(run.provisioned),
                   "failed": sum(1 for o in run.outcomes if o.status == "failed")})
    else:
        _summary_table(run.outcomes)
        failed = sum(1 for o in run.outcomes if o.status == "failed")
        click.echo(f"{len(run.provisioned)} board(s) provisioned, {failed} failed")
    return code


def _summary_table(outcomes: Sequence[BoardOutcome]) -> None:
    """One row per board: port, serial, device, status, seconds (terminal-safe)."""
    from hatch_meadow.textsafe import printable

    if not outcomes:
        return
    rows = [("PORT", "SERIAL", "DEVICE", "STATUS", "SECONDS")] + [
        (printable(o.port), printable(o.serial or "?"), printable(o.device_id or "-"), o.status, f"{o.seconds:.1f}")
        for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _meadow_ports() -> list[PortInfo]:
    from hatch_meadow.ports import find_meadow_ports

    return find_meadow_ports()


def _discover(ports: tuple[str, ...]) -> Callable[[], list[str]]:
    """Ports present now: the given ones whose device node exists (sim:// always), else Meadows by VID."""
    if not ports:
        return lambda: [p.port for p in _meadow_ports()]
    return lambda: [p for p in ports if "://" in p or os.path.exists(p)]


def _watch_end(count: int | None, timeout: float | None) -> str:
    parts = ([f"until {count} are provisioned"] if count else []) + ([f"for up to {timeout:g} s"] if timeout else [])
    return " or ".join(parts) or "until stopped"


@fleet.command("rotate", short_help="Re-issue expiring devices, keeping the old thumbprints registered for now.")
@click.option("--ca", "ca_dir", type=FOLDER, default=None, help="The CA folder (not needed with --finish).")
@click.option("--out", type=FOLDER, required=True, help="The fleet folder.")
@click.option("--expires-within", type=click.IntRange(0, 36500), default=30, show_default=True,
              help="Rotate the devices whose certificates expire within this many days.")
@click.option("--device", "device_ids", multiple=True, help="Rotate this device (repeat; instead of --expires-within).")
@click.option("--days", type=click.IntRange(1, 36500), default=365, show_default=True, help="New validity.")
@click.option("--finish", is_flag=True, help="End the rotation: drop the old thumbprints, delete the old sets.")
@_passphrase_option
@_key_options
def rotate_command(ca_dir: Path | None, out: Path, expires_within: int, device_ids: tuple[str, ...], days: int,
                   finish: bool, passphrase_file: Path | None, key_type: str, key_encryption: str, jobs: int,
                   force: bool, as_json: bool) -> int:
    """Give the chosen devices new keys and certificates. The old folders move to OUT/.retired/; the manifest
    keeps each old thumbprint (previous_sha256_thumbprint), so iothub-import.jsonl and azure.sh register the
    new one as primary and the old one as secondary: boards still on the old set keep connecting until
    `fleet deploy` gives them the new one. `--finish` drops the old thumbprints (azure-rotate-finish.sh) and
    deletes the retired sets. An interrupted rotation resumes on the next run.

    Exit codes: 0 done (or nothing to rotate), 1 some devices failed, 2 bad input or an unfinished rotation.
    """
    from hatch_meadow.cli.console import emit_json
    from hatch_meadow.errors import InputError
    from hatch_meadow.fleet.ca import ca_passphrase, load_ca
    from hatch_meadow.fleet.issue import IssueOptions
    from hatch_meadow.fleet.rotate import RotationChoice, finish_rotation, rotate_fleet
    from hatch_meadow.textsafe import printable

    if force:
        raise InputError("--force does not apply to rotate (it re-issues only the chosen devices)",
                         hint="name the devices with --device")
    if finish:
        count, script = finish_rotation(out)
        if as_json:
            emit_json({"ok": True, "out": str(out), "finished": count,
                       "script": None if script is None else str(script)})
            return 0
        click.echo(printable(f"rotation finished for {count} device(s); the retired sets are deleted"))
        if script is not None:
            click.echo(printable(f"drop the old thumbprints at the hub: HUB=your-hub sh {script}"))
        return 0
    if ca_dir is None:
        raise InputError("--ca is needed to issue the new certificates", hint="pass --ca CA (the fleet CA folder)")
    ca = load_ca(ca_dir, ca_passphrase(os.environ, passphrase_file))
    options = IssueOptions(key_type=key_type, key_encryption=key_encryption, days=days)
    summary = rotate_fleet(ca, out, options, RotationChoice(frozenset(device_ids), expires_within), jobs=_jobs(jobs))
    code = _report(summary, as_json=as_json)
    if not as_json and summary.issued:
        click.echo("next: register the new thumbprints (iothub-import.jsonl or azure.sh), `fleet deploy` the new "
                   "sets, then `fleet rotate --finish`")
    return code
