"""Deploys that survive a real board's timing (issue #8): resync after failures, reboots by events,
back-pressure, a killed deploy, and the fault matrix. Real pyserial on a real pty throughout."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import machine_state

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.deploy import SEND_ORDER, DeployRecord, deploy, load_credential_set
from hatch_meadow.device import MeadowDevice, Timeouts
from hatch_meadow.errors import DeviceRejectedError, TransportError
from hatch_meadow.names import CREDENTIAL_FILES
from hatch_meadow.ports import MEADOW_VID, PortInfo
from hatch_meadow.protocol.crc import nuttx_crc32
from hatch_meadow.protocol.framing import encode_frame
from hatch_meadow.protocol.packets import encode_file_start
from hatch_meadow.testing import fault_matrix, scenarios
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import Faults, SimulatedMeadow
from hatch_meadow.transport import SerialTransport

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")

QUICK = Timeouts(request=5.0, start=5.0, end=5.0, boot=10.0, post_boot=0.3, ping_interval=0.1, sync=6.0, attach=3.0)


@pytest.fixture(name="creds")
def _creds(tmp_path: Path) -> Path:
    """A valid credential set (EC P-256, AES-256)."""
    folder = tmp_path / "creds"
    generate_credentials(folder, device_id="dev-001", key_type="ec-p256")
    return folder


def local(creds: Path) -> dict[str, bytes]:
    return {name: (creds / name).read_bytes() for name in CREDENTIAL_FILES}


def deploy_to(board: SimulatedMeadow, creds: Path, **kwargs: object) -> tuple[object, MeadowDevice]:
    with PtyBoard(board) as pty:
        device = MeadowDevice(SerialTransport(pty.port), timeouts=QUICK)
        try:
            result = deploy(device, load_credential_set(creds), force=True, **kwargs)  # type: ignore[arg-type]
        finally:
            device.close()
    return result, device


# -- issue #8's two scenarios, through the CLI, at the board's real watchdog timing -----------------------------


@pytest.mark.parametrize("scenario", [scenarios.stall_scenario, scenarios.noisy_scenario],
                         ids=["stall-4s-after-packet-1", "noisy-link"])
def test_issue_scenarios_deploy_cleanly(scenario: object, creds: Path, tmp_path: Path) -> None:
    """`hatch-meadow deploy --force` exits 0, the store holds the local bytes, the runtime is enabled again,
    and each file took at most 2 attempts (`python -m hatch_meadow.testing.fault_matrix --scenarios 20`)."""
    board = scenario(reboot_s=0.3)  # type: ignore[operator]
    run = scenarios.run_cli_scenario(board, creds, workdir=tmp_path)
    assert run.ok, run.detail
    assert run.exit_code == 0
    assert board.esp_store == local(creds)
    assert board.runtime_enabled is True
    assert board.faults_fired  # the fault really happened
    assert 1 <= run.max_starts <= 2


def test_stall_costs_one_sync_and_one_retry(creds: Path) -> None:
    """The stall scenario, in process: the retry is preceded by one sync, which absorbs the board's stale
    'no active download' error instead of letting it end the retry's START."""
    board = SimulatedMeadow(runtime_enabled=False, reboot_s=0.2, faults=Faults(pause_after_packet=1, pause_s=4.0))
    result, device = deploy_to(board, creds)
    assert result.attempts == {SEND_ORDER[0]: 2, SEND_ORDER[1]: 1, SEND_ORDER[2]: 1}
    assert device.syncs == 1
    assert device.stale >= 2  # the watchdog's RESEND and END's 'no active download' + CONCLUDED
    assert board.esp_store == local(creds)


def test_failed_deploy_keeps_the_old_set_and_the_runtime(creds: Path) -> None:
    """A key that never arrives intact: exit with the cause; the partly sent set is removed from /meadow0/
    before the runtime is enabled again, so the board imports nothing new and keeps its old credentials."""
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.2, faults=Faults(corrupt_path_suffix="/private_key.pem"))
    board.esp_store = dict(fault_matrix.OLD_SET)
    with pytest.raises(DeviceRejectedError, match=r"private_key\.pem failed 3 times") as failure:
        deploy_to(board, creds)
    assert failure.value.hint is not None
    assert "removed from /meadow0/, so the board keeps its previous credentials" in failure.value.hint
    assert board.esp_store == fault_matrix.OLD_SET
    assert not any(path.endswith(CREDENTIAL_FILES) for path in board.files)
    assert board.runtime_enabled is True


def test_lost_reconnect_is_followed_as_the_reboot(creds: Path) -> None:
    """The board drops off USB before its RECONNECT is read: the client follows the reboot anyway."""
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.2, faults=Faults(drop_reconnect=True))
    deploy_to(board, creds)
    assert board.esp_store == local(creds)
    assert board.runtime_enabled is True
    assert board.faults_fired["drop_reconnect"] == 2


def test_reopening_the_dying_port_is_survived(creds: Path) -> None:
    """The board stays on USB after RECONNECT until the host has reopened the old port, then drops off:
    the client notices the disconnect and polls for the port again."""
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.2, faults=Faults(late_unplug_s=0.8))
    deploy_to(board, creds)
    assert board.esp_store == local(creds)
    assert board.runtime_enabled is True


# -- reboots by events -------------------------------------------------------------------------------------


def test_late_post_boot_concluded_ends_no_later_request(creds: Path) -> None:
    """A post-boot CONCLUDED that comes after the client gave up waiting and pinged is set aside later."""
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.2, boot_concluded_delay_s=0.6)
    result, device = deploy_to(board, creds)
    assert board.esp_store == local(creds)
    assert board.runtime_enabled is True
    assert result.reboots == 2  # type: ignore[attr-defined]
    assert device.stale >= 1


def test_board_that_never_sends_the_post_boot_concluded(creds: Path) -> None:
    """No post-boot CONCLUDED at all: after the wait the client pings until the board answers."""
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.2, boot_concluded_delay_s=math.inf)
    deploy_to(board, creds)
    assert board.esp_store == local(creds)


def test_legacy_concluded_in_front_of_the_first_reply(creds: Path) -> None:
    """The older behaviour (CONCLUDED in front of the first reply) is handled too."""
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.2, boot_concluded_delay_s=None)
    deploy_to(board, creds)
    assert board.esp_store == local(creds)


class WanderingPtyBoard(PtyBoard):
    """A board that comes back from each reboot under a new path (as a re-enumerated USB device may)."""

    def _plug(self) -> None:
        count = getattr(self, "plugs", 0)
        if count:
            self.port = os.path.join(os.path.dirname(self.port), f"ttyMEADOW{count}")
        self.plugs = count + 1
        super()._plug()

    def _unplug(self) -> None:
        gone = self.port
        super()._unplug()
        if os.path.lexists(gone):
            os.unlink(gone)


def test_reopen_follows_the_usb_serial_number_when_the_path_changes(
        creds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The path does not come back: the port with the same USB serial number is opened instead (USB
    enumeration is the one thing faked here)."""
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.2)
    with WanderingPtyBoard(board) as pty:
        first = pty.port

        def enumerate_ports() -> list[PortInfo]:
            return [PortInfo(port=pty.port, product="Meadow F7 Micro", serial_number="USB-0001", vid=MEADOW_VID)]

        monkeypatch.setattr("hatch_meadow.ports.find_meadow_ports", enumerate_ports)
        transport = SerialTransport(first)
        device = MeadowDevice(transport, timeouts=QUICK)
        try:
            deploy(device, load_credential_set(creds), force=True)
        finally:
            device.close()
        assert transport.path != first
        assert transport.path == pty.port
    assert board.esp_store == local(creds)
    assert board.reboots == 2


def test_reboot_waits_for_the_port_not_a_fixed_sleep(creds: Path) -> None:
    """A reboot costs the board's reboot time plus its post-boot CONCLUDED delay, not the vendor's 3 s."""
    board = SimulatedMeadow(runtime_enabled=False, reboot_s=0.2)
    result, _ = deploy_to(board, creds)
    assert result.reboots == 1  # type: ignore[attr-defined]
    assert result.seconds < 2.5  # type: ignore[attr-defined]  # a 3 s sleep could not fit


# -- back-pressure and left-open downloads -------------------------------------------------------------------


def test_backpressure_longer_than_the_write_timeout_is_reported(creds: Path) -> None:
    """A board that stops reading for longer than the write timeout: a clear error naming the stall."""
    board = SimulatedMeadow(runtime_enabled=False, reboot_s=0.2, faults=Faults(pause_after_packet=1, pause_s=3.0))
    with PtyBoard(board) as pty:
        device = MeadowDevice(SerialTransport(pty.port, write_timeout=0.5), timeouts=QUICK)
        try:
            device.attach()
            with pytest.raises(TransportError, match=r"stopped taking data \(write timed out after 0.5 s\)"):
                device.write_file(os.urandom(600_000), "/meadow0/big.bin")
        finally:
            device.close()


def test_attach_closes_a_download_left_open_by_a_killed_host(creds: Path) -> None:
    """A board still holding a download (its watchdog far away) drops every command but END; the deploy's
    first contact sends END, so it goes through at once."""
    board = SimulatedMeadow(runtime_enabled=False, reboot_s=0.2, watchdog_s=60.0)
    board.receive(encode_frame(encode_file_start("/meadow0/half.bin", 100, nuttx_crc32(b"x" * 100))), time.monotonic())
    assert board.download_active
    result, _ = deploy_to(board, creds)
    assert board.esp_store == local(creds)
    assert result.seconds < 5.0  # type: ignore[attr-defined]  # not the 60 s watchdog


# -- a deploy killed at any point ------------------------------------------------------------------------------


def test_sigkilled_deploy_resends_everything_next_time(creds: Path, tmp_path: Path) -> None:
    """SIGKILL at random points: the record is written only after the board confirmed, so the next plain
    deploy either skips a set the board really has, or sends everything; the board ends with the set."""
    rng = random.Random(8)
    digest = load_credential_set(creds).digest
    outcomes = []
    for _ in range(6):
        board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.2, serial_number="KILL00000001")
        with PtyBoard(board) as pty:
            command = [sys.executable, "-m", "hatch_meadow", "deploy", "--dir", str(creds), "--port", pty.port,
                       "--json"]
            proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.3, 1.6))
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            deadline = time.monotonic() + 5
            while not pty.plugged and time.monotonic() < deadline:  # a kill during a reboot: wait for the port,
                time.sleep(0.05)  # as a user would before running it again
            record = machine_state() / "deploy-record.json"
            recorded = DeployRecord.load(record.parent).has("KILL00000001", digest)
            if recorded:
                assert board.esp_store == local(creds)  # the record never runs ahead of the board
            again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                                   check=False)
            assert again.returncode == 0, again.stderr
            summary = json.loads(again.stdout)
            assert summary["credentials"] == ("skipped" if recorded else "sent")
            assert board.esp_store == local(creds)
            assert board.runtime_enabled is True  # enabled again even if the kill came after disabling it
            assert not DeployRecord.load(record.parent).runtime_pending("KILL00000001")
            outcomes.append(recorded)
            if record.exists():
                record.unlink()
    assert False in outcomes  # some kills came before the board confirmed


# -- the fault matrix --------------------------------------------------------------------------------------------


def test_fault_matrix_recovers_every_case() -> None:
    """Every fault x position x size x runtime ends with the right bytes on the board: 0 silent corruptions,
    0 crashes; every transient fault recovers, and a key that can never arrive fails cleanly with the old set
    kept and the runtime as it was (`python -m hatch_meadow.testing.fault_matrix` prints the figures)."""
    summary = fault_matrix.run_matrix(jobs=6)
    counts = summary.counts
    assert len(summary.outcomes) == 260
    assert counts["silent-corruption"] == 0, summary.lines()
    assert counts["crash"] == 0, summary.lines()
    must_fail = [o for o in summary.outcomes if o.case.fault in fault_matrix.MUST_FAIL]
    assert len(must_fail) == 10
    assert all(o.verdict == "clean-failure" for o in must_fail), summary.lines()
    assert counts["recovered"] == 250, summary.lines()
    assert max(o.max_attempts for o in summary.outcomes) <= 3


def test_fault_matrix_with_the_app_printing() -> None:
    """Console lines never break a deploy (issue #14): the runtime-enabled cases of one size, with the board's
    app printing a line every 50 ms throughout (`fault_matrix --app` runs all 260)."""
    summary = fault_matrix.run_matrix(jobs=6, app=True, only=lambda case: case.runtime and case.size == 8189)
    assert len(summary.outcomes) == 26
    assert summary.counts["silent-corruption"] == 0, summary.lines()
    assert summary.counts["crash"] == 0, summary.lines()
    assert all(o.verdict == ("clean-failure" if o.case.fault in fault_matrix.MUST_FAIL else "recovered")
               for o in summary.outcomes), summary.lines()
