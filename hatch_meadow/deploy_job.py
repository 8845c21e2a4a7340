"""The one deploy assembly, used by the hook (``deploy = true``) and by ``hatch-meadow deploy`` / ``clear --port``.

``plan_deploy`` reads and checks every local input (credentials as ``check`` would, deploy files, the
output folder) before any port is opened; ``run_deploy_job`` opens the port, deploys with this
machine's record and closes the port whatever happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_meadow.config import MeadowConfig, hook_table_path
from hatch_meadow.deploy import CredentialSet, DeployResult, FileProgress
from hatch_meadow.names import PASS_FILE
from hatch_meadow.project import ProjectLayout

if TYPE_CHECKING:
    from hatch_meadow.boardlog import BoardLog, LogLine
    from hatch_meadow.device import MeadowDevice

Report = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DeployJob:
    """Everything a deploy sends and where, checked."""

    port: str
    creds: CredentialSet
    extra_files: dict[str, bytes] = field(default_factory=dict)
    output_dir: Path | None = None
    reboot: bool = True
    listen_seconds: float = 0.0  # after the deploy, watch the board's console this long (0: not at all)
    ready: str | None = None  # the regex of the app's ready line


def plan_deploy(config: MeadowConfig, layout: ProjectLayout | None, *, credentials_dir: Path, port: str,
                output_dir: Path | None = None, reboot: bool = True, clear: bool = False,
                where: str = hook_table_path(), unchecked: bool = False, listen_seconds: float | None = None,
                ready: str | None = None) -> DeployJob:
    """The deploy of ``credentials_dir`` (or of three empty files for ``clear``) with the project's options.

    Raises:
        FindingsError: credentials the board would reject.
        InputError: a deploy file or output folder that cannot be sent.
    """
    from hatch_meadow.boardlog import ready_pattern
    from hatch_meadow.deploy import load_credential_set
    from hatch_meadow.output_sync import read_output_dir_checked

    creds = load_credential_set(credentials_dir, profile=config.profile, device_id=config.device_id, clear=clear,
                                unchecked=unchecked)
    ready = ready if ready is not None else config.ready_pattern
    ready_pattern(ready)  # a bad regex is refused before the port is opened
    seconds = float(config.listen_seconds) if listen_seconds is None else listen_seconds
    extra: dict[str, bytes] = {}
    if layout is not None and not clear:
        extra = read_deploy_files(layout.root, config.deploy_files, where)
        reboot = reboot and config.reboot
        if output_dir is None and config.output_dir:
            output_dir = layout.root / config.output_dir
    if output_dir is not None:
        read_output_dir_checked(output_dir)  # refuse a missing or empty folder before opening the port
    return DeployJob(port=port, creds=creds, extra_files=extra, output_dir=output_dir, reboot=reboot,
                     listen_seconds=0.0 if clear else seconds, ready=ready)


def run_deploy_job(job: DeployJob, *, force: bool = False, info: Report | None = None, warn: Report | None = None,
                   progress: FileProgress | None = None, allow_network: bool = False,
                   on_line: Callable[[LogLine], None] | None = None) -> DeployResult:
    """Open the port, deploy, (with ``job.listen_seconds``) watch the board's console, close the port.

    The watch counts only what the app prints after the deploy's last restart: the first credential or TLS
    error line makes the verdict "error", a line matching ``job.ready`` "ready", else "silent"; the result's
    ``board_log`` holds the verdict and those lines (redacted).

    Raises:
        InputError: a network port without ``allow_network`` (keys would cross it in cleartext).
        DeviceError and subclasses: the port or the board failed (exit 3).
    """
    from hatch_meadow.connect import open_device
    from hatch_meadow.deploy import deploy
    from hatch_meadow.deploy_record import DeployRecord

    device = open_device(job.port, allow_network=allow_network)
    try:
        log = None
        if job.listen_seconds > 0:
            from hatch_meadow.boardlog import BoardLog, ready_pattern

            log = BoardLog(ready=ready_pattern(job.ready), secrets=[job.creds.files.get(PASS_FILE, b"")],
                           boot=lambda: device.boots, on_line=on_line)
            device.console = log.feed
        result = deploy(device, job.creds, record=DeployRecord.load(), force=force or job.creds.clear,
                        reboot=job.reboot, output_dir=job.output_dir, extra_files=job.extra_files, info=info,
                        warn=warn, progress=progress)
        if log is not None:
            result.board_log = watch_board(device, log, job.listen_seconds)
        return result
    finally:
        device.close()


def watch_board(device: MeadowDevice, log: BoardLog, seconds: float) -> dict[str, Any]:
    """Follow the console for up to ``seconds`` after the last restart, or until the app's verdict."""
    import time

    mark = device.boots
    device.follow(time.monotonic() + seconds, stop=lambda: log.decided(mark))
    verdict, line = log.verdict(mark)
    return {"verdict": verdict, "seconds": seconds, "lines": [entry.to_json() for entry in log.since(mark)],
            "decisive_line": None if line is None else line.to_json()}


def read_deploy_files(root: Path, names: tuple[str, ...], where: str = hook_table_path()) -> dict[str, bytes]:
    """The ``deploy-files``, by the name they get in /meadow0/.

    Raises:
        InputError: a missing or unreadable file, or two files with the same name.
    """
    from hatch_meadow.errors import InputError

    files: dict[str, bytes] = {}
    for name in names:
        path = root / name
        if not path.is_file():
            raise InputError(f"{where}.deploy-files: {path} is not a file", hint="fix the path (relative to "
                             "pyproject.toml)")
        if path.name in files:
            raise InputError(f"{where}.deploy-files: two files are named {path.name}", hint="the board keeps them "
                             "in one folder; rename one")
        try:
            files[path.name] = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read it ({exc.strerror})") from exc
    return files
