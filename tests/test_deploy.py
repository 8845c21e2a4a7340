"""Deploys end to end: the CLI and the library against a simulated Meadow behind a real pseudo-terminal."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import serial
from conftest import machine_state

from hatch_meadow.cli import main
from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.deploy import SEND_ORDER, DeployRecord, deploy, load_credential_set
from hatch_meadow.device import MeadowDevice, Timeouts
from hatch_meadow.errors import (
    DeviceRejectedError,
    DeviceTimeoutError,
    FindingsError,
    PortNotFoundError,
    TransportError,
)
from hatch_meadow.names import CREDENTIAL_FILES
from hatch_meadow.output_sync import plan_sync
from hatch_meadow.ports import find_meadow_ports, resolve_port
from hatch_meadow.protocol.codes import MAX_DATA_BYTES
from hatch_meadow.protocol.crc import nuttx_crc32
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import Faults, SimulatedMeadow
from hatch_meadow.transport import SerialTransport

FAST = Timeouts(request=3.0, start=3.0, end=3.0, boot=5.0, sync=3.0, attach=2.0)


@pytest.fixture(name="creds")
def _creds(tmp_path: Path) -> Path:
    """A valid credential set (RSA-2048, AES-256)."""
    folder = tmp_path / "creds"
    generate_credentials(folder, device_id="dev-001")
    return folder


@pytest.fixture(name="pty_board")
def _pty_board() -> Iterator[PtyBoard]:
    """A simulated Meadow (runtime enabled, like a board running its app) behind a real pty."""
    with PtyBoard(SimulatedMeadow(runtime_enabled=True, reboot_s=0.05, serial_number="0A1B2C3D4E5F")) as board:
        yield board


def open_device(board: PtyBoard) -> MeadowDevice:
    return MeadowDevice(SerialTransport(board.port), timeouts=FAST)


def expected_store(creds: Path) -> dict[str, bytes]:
    return {name: (creds / name).read_bytes() for name in CREDENTIAL_FILES}


def test_deploy_cli_imports_credentials_and_second_run_sends_nothing(
        creds: Path, pty_board: PtyBoard, capsys: pytest.CaptureFixture[str]) -> None:
    """deploy --json: the three files end in the secrets store with the right bytes; a rerun is skipped."""
    assert main(["deploy", "--dir", str(creds), "--port", pty_board.port, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    board = pty_board.board
    assert summary["serial"] == "0A1B2C3D4E5F"
    assert summary["credentials"] == "sent"
    assert summary["sent"] == list(SEND_ORDER)  # the key last: it commits the set
    assert summary["imported"] is True
    assert summary["retries"] == 0
    assert board.esp_store == expected_store(creds)
    assert not any(path.endswith(CREDENTIAL_FILES) for path in board.files)
    assert board.runtime_enabled is True  # left as found
    assert summary["file_bytes"] == sum(len(v) for v in expected_store(creds).values())
    received = board.bytes_received
    assert main(["deploy", "--dir", str(creds), "--port", pty_board.port, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["credentials"] == "skipped"
    assert again["sent"] == []
    assert again["file_bytes"] == 0
    assert board.bytes_received - received < 100  # one info request, no file bytes
    record = json.loads((machine_state() / "deploy-record.json").read_text())
    assert record["boards"]["0A1B2C3D4E5F"]["thumbprint"] == summary["thumbprint"]
    assert "BEGIN" not in json.dumps(record)
    assert (creds / "private_key_pass.txt").read_text() not in json.dumps(record)


def test_deploy_force_resends(creds: Path, pty_board: PtyBoard, capsys: pytest.CaptureFixture[str]) -> None:
    """--force sends an unchanged set again."""
    assert main(["deploy", "--dir", str(creds), "--port", pty_board.port]) == 0
    capsys.readouterr()
    assert main(["deploy", "--dir", str(creds), "--port", pty_board.port, "--force", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["credentials"] == "sent"
    assert summary["sent"] == list(SEND_ORDER)  # the key last: it commits the set
    assert pty_board.board.esp_store == expected_store(creds)


def test_deploy_no_reboot_leaves_files_for_next_boot(creds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--no-reboot on a board with the runtime off: files wait in /meadow0/, import pending."""
    with PtyBoard(SimulatedMeadow(runtime_enabled=False, reboot_s=0.05)) as board:
        assert main(["deploy", "--dir", str(creds), "--port", board.port, "--no-reboot", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["imported"] is None
        assert {f"/meadow0/{n}" for n in CREDENTIAL_FILES} <= set(board.board.files)
        assert board.board.esp_store == {}


def test_deploy_unencrypted_key_sends_empty_pass_file(tmp_path: Path, pty_board: PtyBoard) -> None:
    """An unencrypted key goes with an empty pass file, which replaces a stale stored passphrase."""
    folder = tmp_path / "plain"
    generate_credentials(folder, device_id="dev-002", key_encryption="none")
    (folder / "private_key_pass.txt").unlink()
    pty_board.board.esp_store["private_key_pass.txt"] = b"old-passphrase"
    assert main(["deploy", "--dir", str(folder), "--port", pty_board.port]) == 0
    assert pty_board.board.esp_store["private_key_pass.txt"] == b""


def test_clear_port_wipes_stored_credentials(creds: Path, pty_board: PtyBoard) -> None:
    """clear --port sends three empty files: the store ends up empty."""
    assert main(["deploy", "--dir", str(creds), "--port", pty_board.port]) == 0
    assert main(["clear", "--dir", str(creds), "--port", pty_board.port, "--yes"]) == 0
    assert pty_board.board.esp_store == {name: b"" for name in CREDENTIAL_FILES}
    assert (creds / "private_key.pem").read_bytes().startswith(b"-----BEGIN")  # local files untouched


def test_deploy_refuses_rejected_credentials_before_opening_the_port(tmp_path: Path) -> None:
    """A set check rejects stops with findings (exit 1) even though the port does not exist."""
    folder = tmp_path / "bad"
    generate_credentials(folder, device_id="dev-001")
    (folder / "private_key_pass.txt").write_bytes(b"wrong")
    with pytest.raises(FindingsError, match="refusing to deploy credentials the board would reject"):
        load_credential_set(folder)
    assert main(["deploy", "--dir", str(folder), "--port", "/dev/does-not-exist"]) == 1


def test_deploy_refuses_empty_files_unless_clear(tmp_path: Path) -> None:
    """Empty files are a wipe: only `clear` sends them."""
    folder = tmp_path / "empty"
    folder.mkdir()
    for name in CREDENTIAL_FILES:
        (folder / name).write_bytes(b"")
    with pytest.raises(FindingsError, match="would wipe"):
        load_credential_set(folder)
    assert load_credential_set(folder, clear=True).files == {n: b"" for n in CREDENTIAL_FILES}


@pytest.mark.parametrize(
    "faults",
    [
        Faults(drop_data_packet=1),
        Faults(corrupt_data_packet=1),
        Faults(resend_after_packet=1),
        Faults(init_fail_times=1),
        Faults(unsolicited_every=2),
        Faults(split_replies=True),
    ],
    ids=["drop", "corrupt", "resend", "init-fail", "unsolicited", "split"],
)
def test_deploy_recovers_from_transient_faults(creds: Path, faults: Faults) -> None:
    """Each transient fault ends with the right bytes in the store (a retry where needed)."""
    transient = bool(faults.drop_data_packet or faults.corrupt_data_packet or faults.resend_after_packet
                     or faults.init_fail_times)
    sim = SimulatedMeadow(runtime_enabled=False, reboot_s=0.05, faults=faults)
    with PtyBoard(sim) as board:
        device = open_device(board)
        try:
            result = deploy(device, load_credential_set(creds))
        finally:
            device.close()
    assert sim.esp_store == expected_store(creds)
    assert result.imported is True
    assert result.retries == (1 if transient else 0)


class AlwaysCorrupting(SimulatedMeadow):
    """A board on a bad cable: every download arrives corrupted."""

    def receive(self, data: bytes, now: float) -> bytes:
        self.faults.corrupt_data_packet = 1
        return super().receive(data, now)


def test_write_gives_up_after_three_attempts(creds: Path) -> None:
    """A file that keeps failing its CRC check fails loudly after 3 attempts, naming the cause."""
    sim = AlwaysCorrupting(runtime_enabled=False, reboot_s=0.05)
    with PtyBoard(sim) as board:
        device = open_device(board)
        try:
            with pytest.raises(DeviceRejectedError, match=r"failed 3 times: .*checksum mismatch"):
                device.write_file(b"x" * 1000, "/meadow0/a.bin")
        finally:
            device.close()
    assert "/meadow0/a.bin" not in sim.files or sim.files["/meadow0/a.bin"] != b"x" * 1000


def test_board_that_stops_mid_transfer_times_out(creds: Path) -> None:
    """A board that hangs after the first data packet gives a clear timeout, not a hang: END gets no
    answer, nor does the sync that must come before a retry.

    Two data packets: what the stalled board leaves unread (packet 2 and END, under 1 KiB) always fits in
    the pty's buffer, so the host's write never blocks and the failure is the missing reply. (A board
    that stops reading while more is queued than the buffer holds fails the write instead; that path is
    tested with a short write timeout in test_deploy_resync.py.)"""
    sim = SimulatedMeadow(runtime_enabled=False, reboot_s=0.05, faults=Faults(stall_after_packets=1))
    with PtyBoard(sim) as board:
        device = open_device(board)
        try:
            with pytest.raises(DeviceTimeoutError, match=r"stopped answering \(no reply to a sync request within 3 s"):
                device.write_file(os.urandom(MAX_DATA_BYTES + 800), "/meadow0/big.bin")
        finally:
            device.close()


def test_port_that_is_not_a_meadow_times_out(creds: Path) -> None:
    """A silent port (not a Meadow) fails with a timeout that says so."""
    with PtyBoard(SimulatedMeadow(faults=Faults(silent=True))) as board:
        device = open_device(board)
        try:
            with pytest.raises(DeviceTimeoutError, match="no Meadow answered on this port within 2 s") as info:
                device.attach()
            assert info.value.hint is not None
            assert "is this the board's port" in info.value.hint
        finally:
            device.close()


def test_missing_port_exits_3(creds: Path) -> None:
    """A port path that does not exist: exit 3 with 'no such port', no traceback."""
    proc = subprocess.run([sys.executable, "-m", "hatch_meadow", "deploy", "--dir", str(creds), "--port",
                           "/dev/ttyNOPE9"], capture_output=True, text=True, check=False)
    assert proc.returncode == 3
    assert "/dev/ttyNOPE9: no such port" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_permission_denied_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    """EACCES from the OS (a true edge, simulated) becomes a dialout-group hint."""
    def refuse(*_args: object, **_kwargs: object) -> object:
        raise serial.SerialException(errno.EACCES, "could not open port /dev/ttyACM0: Permission denied")

    monkeypatch.setattr(serial, "serial_for_url", refuse)
    with pytest.raises(TransportError, match="permission denied") as info:
        SerialTransport("/dev/ttyACM0")
    assert info.value.hint is not None
    assert "dialout" in info.value.hint
    assert info.value.exit_code == 3


def fake_port(device: str, serial_number: str, vid: int = 0x2E6A) -> SimpleNamespace:
    return SimpleNamespace(device=device, product="Meadow F7 Micro", serial_number=serial_number,
                           description="Meadow", vid=vid, pid=1)


def test_auto_port_picks_the_only_meadow() -> None:
    """USB enumeration (mocked: a true edge) with one Meadow and one other device."""
    ports = [fake_port("/dev/ttyACM0", "A1"), fake_port("/dev/ttyUSB0", "X", vid=0x0403)]
    assert resolve_port("auto", ports) == "/dev/ttyACM0"
    assert [p.port for p in find_meadow_ports(ports)] == ["/dev/ttyACM0"]
    assert resolve_port("COM7", ports) == "COM7"


def test_auto_port_with_two_or_no_boards_lists_them() -> None:
    """auto with two boards names both; with none, it says how to proceed."""
    with pytest.raises(PortNotFoundError, match=r"2 Meadow boards found: /dev/ttyACM0 \(A1\), /dev/ttyACM1 \(B2\)"):
        resolve_port("auto", [fake_port("/dev/ttyACM0", "A1"), fake_port("/dev/ttyACM1", "B2")])
    with pytest.raises(PortNotFoundError, match="no Meadow board found") as info:
        resolve_port("auto", [])
    assert info.value.hint is not None
    assert "sim://" in info.value.hint


def test_devices_json_lists_meadows(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`devices --json` reports port, product and serial number."""
    from serial.tools import list_ports

    monkeypatch.setattr(list_ports, "comports", lambda: [fake_port("/dev/ttyACM0", "A1")])
    assert main(["devices", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["devices"]
    assert [(d["port"], d["product"], d["serial_number"]) for d in listed] == [
        ("/dev/ttyACM0", "Meadow F7 Micro", "A1")]


def test_plan_sync_sends_changed_skips_same_deletes_stale() -> None:
    """Pure sync planning: CRC-equal files are skipped, stale ones deleted, persistent folders untouched."""
    local = {name: nuttx_crc32(data) for name, data in
             {"App.dll": b"new", "app.config.yaml": b"same", "sub/x.bin": b"x", "client_cert.pem": b"c"}.items()}
    remote = {"App.dll": nuttx_crc32(b"old"), "app.config.yaml": nuttx_crc32(b"same"), "old.dll": 1,
              "Data/db.sqlite": 2, "system/x": 3}
    plan = plan_sync(local, remote)
    assert plan.send == ("App.dll", "sub/x.bin")
    assert plan.skip == ("app.config.yaml",)
    assert plan.delete == ("old.dll",)


def test_output_dir_sync_over_pty(creds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--output-dir sends changed and new files, skips unchanged ones, deletes stale ones, spares Data/."""
    out = tmp_path / "bin"
    (out / "sub").mkdir(parents=True)
    (out / "App.dll").write_bytes(b"app v2")
    (out / "meadow.config.yaml").write_bytes(b"same")
    (out / "sub" / "lib.dll").write_bytes(b"lib")
    sim = SimulatedMeadow(runtime_enabled=False, reboot_s=0.05, files={
        "/meadow0/App.dll": b"app v1", "/meadow0/meadow.config.yaml": b"same", "/meadow0/stale.dll": b"old",
        "/meadow0/Data/keep.db": b"user data"})
    with PtyBoard(sim) as board:
        assert main(["deploy", "--dir", str(creds), "--port", board.port, "--output-dir", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sorted(summary["sent"]) == sorted(["App.dll", "sub/lib.dll", *CREDENTIAL_FILES])
    assert summary["skipped"] == ["meadow.config.yaml"]
    assert summary["deleted"] == ["stale.dll"]
    assert sim.files["/meadow0/App.dll"] == b"app v2"
    assert sim.files["/meadow0/sub/lib.dll"] == b"lib"
    assert "/meadow0/stale.dll" not in sim.files
    assert sim.files["/meadow0/Data/keep.db"] == b"user data"
    assert DeployRecord.load().boards
