"""All-or-nothing board state (issue #10 F3): a deploy that fails at any file, in any way, leaves a board whose
next boot imports the complete new set or nothing new (it keeps the old one), never a mix.

The simulated board imports at boot exactly as spec §10.2 says (certificate and key required, the pass file
optional, so a missing one keeps the old passphrase), and keeps a file that failed its CRC on the flash.
Figures: ``python -m pytest tests/reliability/test_board_state.py -q -s``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.deploy import SEND_ORDER, DeployRecord, deploy, load_credential_set
from hatch_meadow.device import MeadowDevice, Timeouts
from hatch_meadow.errors import MeadowError
from hatch_meadow.names import CLIENT_CERT, CREDENTIAL_FILES, PASS_FILE, PRIVATE_KEY
from hatch_meadow.protocol.paths import MEADOW_ROOT
from hatch_meadow.testing.fault_matrix import OLD_SET
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import Faults, SimulatedMeadow
from hatch_meadow.transport import SerialTransport

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")

FAST = Timeouts(request=0.6, start=0.6, end=0.6, boot=4.0, post_boot=0.2, ping_interval=0.1, sync=0.8, attach=1.0)
#: How a transfer can fail at one file: it never arrives intact (board alive), or the link dies before the
#: board acts on its START, or right after the board stored it (the END's reply is lost).
FAILURES = ("never-intact", "dead-at-start", "dead-after-end")


@pytest.fixture(name="creds", scope="module")
def _creds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("board-state") / "creds"
    generate_credentials(folder, device_id="dev-001", key_type="ec-p256")
    return folder


def _faults(failure: str, name: str) -> Faults:
    suffix = "/" + name
    if failure == "never-intact":
        return Faults(corrupt_path_suffix=suffix)
    if failure == "dead-at-start":
        return Faults(dead_at_start_suffix=suffix)
    return Faults(dead_after_end_suffix=suffix)


def _deploy_and_power_cycle(board: SimulatedMeadow, creds: Path) -> str | None:
    """Deploy (expected to fail), then power the board off and on; the error text, or None if it succeeded."""
    error = None
    with PtyBoard(board) as pty:
        device = MeadowDevice(SerialTransport(pty.port), timeouts=FAST)
        try:
            deploy(device, load_credential_set(creds), record=DeployRecord.load(), force=True)
        except MeadowError as exc:
            error = f"{exc} ({exc.hint})"
        finally:
            device.close()
    board.power_cycle()
    return error


def _verdict(store: dict[str, bytes], new: dict[str, bytes]) -> str:
    if store == OLD_SET:
        return "old"
    if store == new:
        return "new"
    return "MIXED"


@pytest.mark.parametrize("runtime_enabled", [False, True], ids=["runtime-off", "runtime-on"])
def test_no_failure_at_any_file_leaves_a_mixed_set(creds: Path, runtime_enabled: bool) -> None:
    new = {name: (creds / name).read_bytes() for name in CREDENTIAL_FILES}
    outcomes: dict[tuple[str, str], str] = {}
    for name in SEND_ORDER:
        for failure in FAILURES:
            board = SimulatedMeadow(runtime_enabled=runtime_enabled, reboot_s=0.1, faults=_faults(failure, name))
            board.esp_store = dict(OLD_SET)
            error = _deploy_and_power_cycle(board, creds)
            assert board.faults_fired, (name, failure)
            verdict = _verdict(board.esp_store, new)
            outcomes[(name, failure)] = verdict
            assert verdict != "MIXED", (name, failure, error, board.esp_store.keys())
            if verdict == "old":
                assert error is not None  # a deploy that left the old set said it failed
            leftovers = [p for p in board.files if p.removeprefix(MEADOW_ROOT) in CREDENTIAL_FILES]
            assert not leftovers or verdict == "old"
    # The key is the commit: only a failure after the key was stored can leave the new set.
    assert outcomes[(PRIVATE_KEY, "dead-after-end")] == "new"
    assert all(v == "old" for k, v in outcomes.items() if k != (PRIVATE_KEY, "dead-after-end"))
    counts = {v: list(outcomes.values()).count(v) for v in ("old", "new", "MIXED")}
    print(f"\nboard state ({'runtime on' if runtime_enabled else 'runtime off'}): {len(outcomes)} failure points; "
          f"old set kept {counts['old']}, new set complete {counts['new']}, mixed sets {counts['MIXED']}")


def test_a_key_left_by_an_earlier_unrebooted_deploy_is_never_paired_with_a_new_certificate(creds: Path) -> None:
    """Set A was sent with --no-reboot (it waits in /meadow0/); deploying set B dies after B's certificate:
    the stale key A must not meet certificate B at the next boot."""
    pending = {CLIENT_CERT: b"cert A", PRIVATE_KEY: b"key A", PASS_FILE: b"pass A"}
    board = SimulatedMeadow(files={MEADOW_ROOT + k: v for k, v in pending.items()}, reboot_s=0.1,
                            faults=Faults(dead_after_end_suffix="/" + CLIENT_CERT))
    board.esp_store = dict(OLD_SET)
    error = _deploy_and_power_cycle(board, creds)
    assert error is not None
    assert board.esp_store == OLD_SET  # no key at boot: nothing imported


def test_a_failed_deploy_makes_the_record_forget_the_board(creds: Path) -> None:
    """F6 / F3: after a failed deploy the record no longer claims the board's set, so the next plain deploy sends."""
    board = SimulatedMeadow(reboot_s=0.1)
    with PtyBoard(board) as pty:
        device = MeadowDevice(SerialTransport(pty.port), timeouts=FAST)
        try:
            deploy(device, load_credential_set(creds), record=DeployRecord.load())
        finally:
            device.close()
    assert DeployRecord.load().has(board.serial_number, load_credential_set(creds).digest)
    board.faults = Faults(corrupt_path_suffix="/" + PRIVATE_KEY)
    with PtyBoard(board) as pty:
        device = MeadowDevice(SerialTransport(pty.port), timeouts=FAST)
        try:
            with pytest.raises(MeadowError):
                deploy(device, load_credential_set(creds), record=DeployRecord.load(), force=True)
        finally:
            device.close()
    assert board.serial_number not in DeployRecord.load().boards or not DeployRecord.load().boards[
        board.serial_number].get("digest")
