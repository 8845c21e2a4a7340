"""Deploy credentials (and optionally an app's build output) to a Meadow board.

``load_credential_set`` refuses what ``check`` rejects before any port is opened; ``plan_sync`` is
pure; ``deploy`` acts on a :class:`~hatch_meadow.device.MeadowDevice`. The board deletes the three
files after importing them at boot (spec §10.2), so it can never tell us whether it already has a
set: this machine's deploy record (board serial → SHA-256 of the last set sent to it from any
folder; no secrets) lets an unchanged set be skipped.

All or nothing on the board: the OS imports a set at boot only when certificate *and* key are in
/meadow0/ (a missing pass file keeps the old passphrase). So the key is the commit: a stale key is
deleted first, the pass file and certificate go next, the key last; a failure deletes what arrived.
Whatever breaks, the next boot imports the complete new set or nothing (the board keeps its old one).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from hatch_meadow.deploy_record import DeployRecord as DeployRecord  # re-exported
from hatch_meadow.device import DeviceInfo, MeadowDevice
from hatch_meadow.errors import DeviceRejectedError, FindingsError, InputError, MeadowError
from hatch_meadow.filesource import Source, as_source
from hatch_meadow.names import CLIENT_CERT, CREDENTIAL_FILES, PASS_FILE, PRIVATE_KEY
from hatch_meadow.output_sync import (
    PERSISTENT_FOLDERS as PERSISTENT_FOLDERS,  # re-exported
)
from hatch_meadow.output_sync import (
    check_upload_path,
    is_credential_name,
    list_remote_tree,
    plan_sync,
    read_output_dir_checked,
)
from hatch_meadow.protocol.paths import MEADOW_ROOT
from hatch_meadow.state import fingerprint

#: The key last: the board imports a set only when certificate and key are both there (spec §10.2).
SEND_ORDER: Final = (PASS_FILE, CLIENT_CERT, PRIVATE_KEY)

Report = Callable[[str], None]
FileProgress = Callable[[str, int, int], None]  # (destination, bytes sent, total)


@dataclass(frozen=True, slots=True)
class CredentialSet:
    """The three files to send (always all three), and what identifies them."""

    files: dict[str, bytes]
    digest: str
    thumbprint: str | None
    clear: bool = False
    unchecked: str | None = None  # sent with --unchecked although check rejects it: why check rejects it


def load_credential_set(directory: Path, *, profile: str = "meadow-f7", device_id: str | None = None,
                        clear: bool = False, unchecked: bool = False) -> CredentialSet:
    """The set to deploy from ``directory``, or three empty files for ``clear``. ``unchecked`` sends a set that
    ``check`` rejects (the escape hatch; the reason is kept in the set for the warning).

    Raises:
        FindingsError: the board would reject the set (unless ``unchecked``), or it is empty and not a clear.
        InputError: ``unchecked`` without a key and a certificate to send.
    """
    if clear:
        files = {name: b"" for name in CREDENTIAL_FILES}
        return CredentialSet(files, fingerprint(*files.values()), None, clear=True)
    from hatch_meadow.creds.validate import check_credentials
    from hatch_meadow.ensure import format_findings
    from hatch_meadow.findings import closing_hint

    report = check_credentials(directory, profile=profile, device_id=device_id)
    if report.cleared:
        raise FindingsError(f"{directory}: the credential files are empty; deploying them would wipe the board's "
                            "stored credentials", hint="if that is what you want, use `hatch-meadow clear --port …`")
    rejected = not report.ok or report.parse != "accept"
    if rejected and unchecked:
        missing = [n for n in (CLIENT_CERT, PRIVATE_KEY) if not (directory / n).is_file()]
        if missing:
            raise InputError(f"{directory}: --unchecked still needs the files to send; {', '.join(missing)} missing",
                             hint="`hatch-meadow generate` makes a set")
    elif rejected:
        raise FindingsError(f"{directory}: refusing to deploy credentials the board would reject "
                            f"(profile {profile}):\n" + format_findings(report.findings, strict=False),
                            hint=closing_hint(report.findings))
    files = {}
    for name in CREDENTIAL_FILES:
        path = directory / name
        files[name] = path.read_bytes() if path.is_file() else b""  # a missing pass file is sent empty
    thumbprint = report.certificate.sha256 if report.certificate else None
    reason = (report.usable_reason or "check rejects it") if rejected else None
    return CredentialSet(files, fingerprint(*files.values()), thumbprint, unchecked=reason)


@dataclass
class DeployResult:
    """The summary of one deploy (the --json output)."""

    port: str
    serial: str = "unknown"
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    credentials: str = "sent"  # sent | skipped | cleared
    file_bytes: int = 0
    wire_bytes: int = 0
    retries: int = 0
    attempts: dict[str, int] = field(default_factory=dict)  # file → times it was sent until the board confirmed it
    syncs: int = 0  # resynchronisations after a failed or stale reply
    reboots: int = 0
    imported: bool | None = None  # None: not rebooted, the board imports them at its next boot
    seconds: float = 0.0
    thumbprint: str | None = None
    board_log: dict[str, Any] | None = None  # with --listen: the verdict and the lines after the last restart

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (no secrets)."""
        summary: dict[str, Any] = {
            "ok": self.board_log is None or self.board_log["verdict"] != "error", "port": self.port,
            "serial": self.serial, "credentials": self.credentials, "sent": self.sent, "skipped": self.skipped,
            "deleted": self.deleted, "file_bytes": self.file_bytes, "wire_bytes": self.wire_bytes,
            "retries": self.retries, "attempts": self.attempts, "syncs": self.syncs, "reboots": self.reboots,
            "imported": self.imported, "seconds": round(self.seconds, 3), "thumbprint": self.thumbprint}
        if self.board_log is not None:
            summary["board_log"] = self.board_log
        return summary


def _bind(progress: FileProgress | None, dest: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None

    def report(done: int, total: int) -> None:
        progress(dest, done, total)

    return report


def deploy(
    device: MeadowDevice,
    creds: CredentialSet | None,
    *,
    record: DeployRecord | None = None,
    force: bool = False,
    reboot: bool = True,
    output_dir: Path | None = None,
    extra_files: dict[str, bytes] | None = None,
    info: Report | None = None,
    warn: Report | None = None,
    progress: FileProgress | None = None,
    board: DeviceInfo | None = None,
) -> DeployResult:
    """Put the credentials (and the output folder) on the board; leave the runtime as it was.

    ``board`` is what :meth:`MeadowDevice.attach` returned when the caller already attached (to pick the
    set by the board's serial number); else the deploy attaches first.

    Local inputs are read and checked before the board is touched. If anything fails after the
    runtime was disabled, it is enabled again before the error is raised.

    Raises:
        InputError: a local file the board cannot take (nothing sent).
        DeviceError and subclasses: with the port and the cause; the local files are never changed.
    """
    say = info or (lambda _m: None)
    started = time.monotonic()
    result = DeployResult(port=device.transport.name)
    local = read_output_dir_checked(output_dir) if output_dir is not None else None
    uploads: dict[str, bytes | Source] = dict(extra_files or {})
    for path in uploads:
        check_upload_path(path)
        if is_credential_name(path):
            raise InputError(f"{path!r}: an extra deploy file may not take a credential file's name; the board would "
                             "import it unchecked in place of the validated set", hint="remove it from deploy-files; "
                             "the credentials folder's set is always sent (checked) by the deploy itself")
    board = board or device.attach()
    result.serial = board.serial_number
    say(f"{result.port}: Meadow {board.serial_number} (OS {board.os_version})")
    to_send = _credentials_to_send(creds, record, result, force=force, say=say)
    if to_send is not None or uploads or local is not None:
        try:
            with runtime_switched_off(device, record, result.serial, say=say, warn=warn or say) as runtime:
                _send(device, result, to_send, uploads, local, progress, say)
        except BaseException:
            if to_send is not None and record is not None:
                _forget(record, result.serial, warn or say)
            raise
        result.reboots += runtime.reboots
        if to_send is not None and not runtime.was_enabled and reboot:
            say("restarting the board so it imports the credentials")
            device.reset()
            result.reboots += 1
        if to_send is not None and (runtime.was_enabled or reboot):
            _confirm_import(device, result, to_send, say)
        if to_send is not None and record is not None:
            _remember(record, result.serial, to_send, warn or say)
    result.wire_bytes = device.bytes_sent
    result.syncs = device.syncs
    result.seconds = time.monotonic() - started
    return result


def _credentials_to_send(creds: CredentialSet | None, record: DeployRecord | None, result: DeployResult, *,
                         force: bool, say: Report) -> CredentialSet | None:
    """The set to send, or None when there is none or this board already has it (noted in ``result``)."""
    if creds is None:
        return None
    if force or record is None or creds.clear or not record.has(result.serial, creds.digest):
        return creds
    result.credentials = "skipped"
    result.skipped.extend(CREDENTIAL_FILES)
    result.thumbprint = creds.thumbprint
    say("credentials unchanged since the last deploy to this board: skipped (`hatch-meadow deploy --force` "
        "sends them again)")
    return None


@dataclass
class RuntimeSwitch:
    """What ``runtime_switched_off`` did: whether the runtime is to be (and was) enabled again, reboots spent."""

    was_enabled: bool
    reboots: int = 0


@contextlib.contextmanager
def runtime_switched_off(device: MeadowDevice, record: DeployRecord | None, serial: str, *, say: Report,
                         warn: Report) -> Iterator[RuntimeSwitch]:
    """The runtime disabled inside the block (file writes need it off, spec §7.1) and enabled again on
    the way out, whether the block succeeded or failed.

    The record notes "disabled by us" before the runtime goes off, so a deploy killed inside the
    block is finished by the next one: it finds the runtime off and the note, and enables it.
    """
    running = device.runtime_state()
    switch = RuntimeSwitch(was_enabled=running)
    if not running and record is not None and record.runtime_pending(serial):
        say("an earlier deploy to this board was interrupted after disabling its runtime: it is enabled again at "
            "the end")
        switch.was_enabled = True
    try:
        if running:
            _note_runtime(record, serial, disabled_by_us=True, warn=warn)
            say("disabling the runtime (the board restarts)")
            device.disable_runtime()
            switch.reboots += 1
        yield switch
    except BaseException:
        if switch.was_enabled:  # never leave the app switched off because a deploy failed
            try:
                device.enable_runtime()
                _note_runtime(record, serial, disabled_by_us=False, warn=warn)
            except Exception as exc:  # noqa: BLE001 - the original error matters more; report this one too
                warn(f"could not enable the board's runtime again ({exc}); the next deploy to it enables it")
        raise
    if switch.was_enabled:
        say("enabling the runtime again (the board restarts and imports the credentials)")
        device.enable_runtime()
        _note_runtime(record, serial, disabled_by_us=False, warn=warn)
        switch.reboots += 1


def _confirm_import(device: MeadowDevice, result: DeployResult, creds: CredentialSet, say: Report) -> None:
    """After the restart the three files must be gone from /meadow0/ (the OS moved them, spec §10.2).

    Raises:
        DeviceRejectedError: they are still there (an OS without TLS client certificate support).
    """
    left = {e.name for e in device.list_files(MEADOW_ROOT, crc=False) if not e.is_dir}
    still = sorted(set(CREDENTIAL_FILES) & left)
    if still:
        raise DeviceRejectedError(f"{result.port}: the board restarted but did not import {', '.join(still)} "
                                  "(they are still in /meadow0/)", hint="Meadow OS 1.10 or later is needed for "
                                  "TLS client certificates; update the OS and deploy again")
    result.imported = True
    say("the board wiped its stored credentials" if creds.clear
        else "the board imported the credentials into its secrets store")


def _remember(record: DeployRecord, serial: str, creds: CredentialSet, warn: Report) -> None:
    try:
        record.remember(serial, creds)
    except OSError as exc:  # the board has them; only the skip-next-time memory is lost
        warn(f"could not save the deploy record {record.path} ({exc.strerror}); the next deploy will send the "
             "credentials again")


def _forget(record: DeployRecord, serial: str, warn: Report) -> None:
    try:
        record.forget(serial)
    except OSError as exc:
        warn(f"could not update the deploy record {record.path} ({exc.strerror}); use `deploy --force` next time")


def _note_runtime(record: DeployRecord | None, serial: str, *, disabled_by_us: bool, warn: Report) -> None:
    if record is None:
        return
    try:
        record.mark_runtime(serial, disabled_by_us=disabled_by_us)
    except OSError as exc:
        warn(f"could not update the deploy record {record.path} ({exc.strerror})")


def _send(device: MeadowDevice, result: DeployResult, creds: CredentialSet | None,
          uploads: dict[str, bytes | Source], local: Mapping[str, Source] | None, progress: FileProgress | None,
          say: Report) -> None:
    if local is not None:
        sync = plan_sync({path: source.crc for path, source in local.items()}, list_remote_tree(device))
        uploads.update({path: local[path] for path in sync.send})
        result.skipped.extend(sync.skip)
        for path in sync.delete:
            device.delete_file(MEADOW_ROOT + path)
            result.deleted.append(path)
    for path, data in uploads.items():
        _upload(device, result, path, data, progress)
        say(f"sent {MEADOW_ROOT}{path} ({as_source(data).size} bytes)")
    if creds is None:
        return
    result.credentials = "cleared" if creds.clear else "sent"
    result.thumbprint = creds.thumbprint
    try:
        _delete_stale_key(device)
        for path in SEND_ORDER:  # always all three: an empty pass file clears a stale passphrase
            _upload(device, result, path, creds.files[path], progress)
    except BaseException as exc:
        _remove_partial_set(device, exc)
        raise
    say("sent " + ", ".join(CREDENTIAL_FILES) + (" (empty: clears the stored credentials)" if creds.clear else ""))


def _upload(device: MeadowDevice, result: DeployResult, path: str, data: bytes | Source,
            progress: FileProgress | None) -> None:
    dest = MEADOW_ROOT + path
    attempts = device.write_file(data, dest, _bind(progress, dest))
    result.retries += attempts - 1
    result.attempts[path] = attempts
    result.sent.append(path)
    result.file_bytes += as_source(data).size


def _delete_stale_key(device: MeadowDevice) -> None:
    """Delete a key an earlier deploy left in /meadow0/ (sent without a restart): until the new key arrives, an
    old one beside the new certificate would be a mixed set. Listed first: a refused delete costs a resync."""
    if any(e.name == PRIVATE_KEY and not e.is_dir for e in device.list_files(MEADOW_ROOT, crc=False)):
        device.delete_file(MEADOW_ROOT + PRIVATE_KEY)


def _remove_partial_set(device: MeadowDevice, exc: BaseException) -> None:
    """A credential write failed: delete what reached /meadow0/, the key first (without a key the OS imports
    nothing, spec §10.2). If the board no longer answers, the order of sending still guarantees that its
    next boot imports the complete new set or nothing: the key is sent last and only after the others."""
    left: list[str] = []
    for name in (PRIVATE_KEY, CLIENT_CERT, PASS_FILE):
        if left:  # the board stopped answering: do not wait for it once per file
            left.append(name)
            continue
        try:
            device.delete_file(MEADOW_ROOT + name)
        except DeviceRejectedError:
            pass  # not there: nothing to remove
        except Exception:  # noqa: BLE001 - the board stopped answering; say so below, keep the original error
            left.append(name)
    if not isinstance(exc, MeadowError):
        return
    note = ("the partly sent set was removed from /meadow0/, so the board keeps its previous credentials" if not left
            else "the partly sent set could not be removed from /meadow0/; the board still never imports a mixed set "
            "(the key goes last, and without it nothing is imported), so it keeps its previous credentials unless "
            "the whole new set arrived: deploy again to be sure")
    exc.hint = f"{exc.hint}; {note}" if exc.hint else note
