"""`hatch-meadow fleet deploy` (issue #11 item 4): each board gets its own identity, chosen by serial number,
recorded before anything is sent; boards in parallel; `--watch` for boards plugged in later. Simulated boards
behind real pseudo-terminals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hatch_meadow.device import MeadowDevice, Timeouts
from hatch_meadow.fleet.ca import init_ca
from hatch_meadow.fleet.devices import read_devices
from hatch_meadow.fleet.issue import IssueOptions, issue_fleet
from hatch_meadow.fleet.provision import deploy_fleet, watch_fleet
from hatch_meadow.names import CREDENTIAL_FILES
from hatch_meadow.testing.faults import Faults
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import SimulatedMeadow
from hatch_meadow.transport import SerialTransport


def make_fleet(root: Path, rows: list[tuple[str, str]]) -> Path:
    (root / "devices.csv").write_text("device_id,serial_number\n" + "".join(f"{a},{b}\n" for a, b in rows))
    ca = init_ca(root / "CA", passphrase=b"fleet-deploy-tests")
    out = root / "OUT"
    summary = issue_fleet(ca, read_devices(root / "devices.csv"), out, IssueOptions(key_type="ec-p256"), auth="ca")
    assert summary.issued == len(rows)
    return out


def manifest(out: Path) -> dict[str, dict[str, Any]]:
    return {d["device_id"]: d for d in json.loads((out / "manifest.json").read_text())["devices"]}


def store_of(out: Path, device_id: str) -> dict[str, bytes]:
    folder = out / manifest(out)[device_id]["folder"]
    return {name: (folder / name).read_bytes() for name in CREDENTIAL_FILES}


FAST = Timeouts(request=3.0, start=3.0, end=3.0, boot=5.0, sync=1.0, attach=2.0)


def fast_device(port: str) -> MeadowDevice:
    """A device with short timeouts (a stalled board fails in seconds, not the real-board minute)."""
    return MeadowDevice(SerialTransport(port), timeouts=FAST)


def board(serial: str, **kwargs: Any) -> PtyBoard:
    return PtyBoard(SimulatedMeadow(serial_number=serial, reboot_s=0.05, **kwargs))


def test_two_boards_in_parallel_each_get_their_own_identity(tmp_path: Path) -> None:
    out = make_fleet(tmp_path, [("dev-a", ""), ("dev-b", "BBBB0002"), ("dev-c", "")])
    with board("AAAA0001") as first, board("BBBB0002") as second:
        run = deploy_fleet(out, [first.port, second.port])
        assert run.exit_code == 0, run.outcomes
        by_serial = {o.serial: o for o in run.outcomes}
        assert by_serial["BBBB0002"].device_id == "dev-b"  # the CSV's serial_number
        assert by_serial["AAAA0001"].device_id == "dev-a"  # the next unassigned device
        assert {o.status for o in run.outcomes} == {"deployed"}
        assert first.board.esp_store == store_of(out, "dev-a")
        assert second.board.esp_store == store_of(out, "dev-b")
        assert first.board.esp_store[CREDENTIAL_FILES[0]] != second.board.esp_store[CREDENTIAL_FILES[0]]
        records = manifest(out)
        assert records["dev-a"]["deployed_to"] == "AAAA0001"
        assert records["dev-b"]["deployed_to"] == "BBBB0002"
        assert records["dev-a"]["deployed_at"]
        assert records["dev-b"]["deployed_at"]
        assert records["dev-c"]["deployed_to"] is None
        again = deploy_fleet(out, [second.port, first.port])  # the other way round: same identities
        assert [(o.serial, o.device_id, o.status) for o in again.outcomes] == [
            ("BBBB0002", "dev-b", "unchanged"), ("AAAA0001", "dev-a", "unchanged")]
        assert manifest(out)["dev-c"]["deployed_to"] is None


def test_board_that_maps_to_no_device_is_refused(tmp_path: Path) -> None:
    out = make_fleet(tmp_path, [("dev-a", "AAAA0001")])
    with board("FFFF9999") as stranger:
        run = deploy_fleet(out, [stranger.port])
        assert run.exit_code == 2
        assert "maps to no device" in (run.outcomes[0].message or "")
        assert stranger.board.esp_store == {} or all(not v for v in stranger.board.esp_store.values())
    assert manifest(out)["dev-a"]["deployed_to"] is None


def test_two_boards_reporting_one_serial_get_one_identity(tmp_path: Path) -> None:
    out = make_fleet(tmp_path, [("dev-a", ""), ("dev-b", "")])
    with board("SAME0001") as first, board("SAME0001") as second:
        run = deploy_fleet(out, [first.port, second.port])
        assert run.exit_code == 2
        failed = [o for o in run.outcomes if o.status == "failed"]
        assert len(failed) == 1
        assert "two boards report the same serial number" in (failed[0].message or "")
    records = manifest(out)
    assert [records[d]["deployed_to"] for d in ("dev-a", "dev-b")] == ["SAME0001", None]


def test_a_failed_board_keeps_its_identity_for_the_retry(tmp_path: Path) -> None:
    out = make_fleet(tmp_path, [("dev-a", ""), ("dev-b", "")])
    with board("CCCC0003", faults=Faults(stall_after_packets=1)) as stalling:
        run = deploy_fleet(out, [stalling.port], open_device=fast_device)
        assert run.exit_code == 3, run.outcomes
        assert run.outcomes[0].device_id == "dev-a"
    assert manifest(out)["dev-a"]["deployed_to"] == "CCCC0003"
    assert manifest(out)["dev-a"]["deployed_at"] is None
    with board("CCCC0003") as healthy:
        run = deploy_fleet(out, [healthy.port])
        assert run.exit_code == 0
        assert run.outcomes[0].device_id == "dev-a"  # not dev-b: no identity for two boards
        assert healthy.board.esp_store == store_of(out, "dev-a")
    assert manifest(out)["dev-b"]["deployed_to"] is None


def test_watch_provisions_a_board_plugged_in_later(tmp_path: Path) -> None:
    out = make_fleet(tmp_path, [("dev-a", ""), ("dev-b", "")])
    present: list[str] = []
    late = board("DDDD0004")
    try:
        timer = threading.Timer(1.0, lambda: present.append(late.port))
        timer.start()
        started = time.monotonic()
        run = watch_fleet(out, lambda: list(present), count=1, timeout=30, poll=0.1)
        assert run.exit_code == 0
        assert time.monotonic() - started >= 1.0
        assert [(o.serial, o.device_id, o.status) for o in run.outcomes] == [("DDDD0004", "dev-a", "deployed")]
        assert late.board.esp_store == store_of(out, "dev-a")
    finally:
        late.close()


def test_watch_cli_with_a_delayed_port(tmp_path: Path) -> None:
    """The real CLI in --watch mode: the port's device node appears 1.5 s after start; --count 1 ends it."""
    out = make_fleet(tmp_path, [("dev-a", ""), ("dev-b", "")])
    link = tmp_path / "ttyLATE"
    with board("EEEE0005") as late:
        threading.Timer(1.5, lambda: os.symlink(late.port, link)).start()
        done = subprocess.run([sys.executable, "-m", "hatch_meadow", "fleet", "deploy", "--out", str(out), "--port",
                               str(link), "--watch", "--count", "1", "--timeout", "40", "--json"],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads(done.stdout)
        assert result["provisioned"] == 1
        assert result["boards"][0]["device_id"] == "dev-a"
        assert late.board.esp_store == store_of(out, "dev-a")


def test_cli_two_simulated_boards_and_usage_errors(tmp_path: Path) -> None:
    out = make_fleet(tmp_path, [("dev-a", ""), ("dev-b", "")])

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hatch_meadow", "fleet", "deploy", "--out", str(out), *args],
                              capture_output=True, text=True, timeout=60, check=False)

    done = cli("--port", "sim://one?serial=0001", "--port", "sim://two?serial=0002")
    assert done.returncode == 0, done.stderr
    assert "0001 -> dev-a: deployed" in done.stdout or "0001 -> dev-b: deployed" in done.stdout
    assert "2 board(s) provisioned, 0 failed" in done.stdout
    assert "PORT" in done.stdout
    assert "STATUS" in done.stdout
    records = manifest(out)
    assert {records["dev-a"]["deployed_to"], records["dev-b"]["deployed_to"]} == {"0001", "0002"}
    third = cli("--port", "sim://three?serial=0003")
    assert third.returncode == 2
    assert "maps to no device" in third.stderr
    usage = cli("--count", "2")
    assert usage.returncode == 2
    assert "apply to --watch only" in usage.stderr
    nobody = cli("--watch", "--count", "1", "--timeout", "1", "--port", str(tmp_path / "ttyNEVER"))
    assert nobody.returncode == 3
    assert "0 of 1 board(s) provisioned" in nobody.stderr
    endless = cli("--watch")
    assert endless.returncode == 2
    assert "needs --count N or --timeout S" in endless.stderr
    for result in (done, third, usage, endless):
        assert "Traceback" not in result.stderr
        assert "PRIVATE KEY" not in result.stdout + result.stderr


def test_no_manifest_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "hatch_meadow", "fleet", "deploy", "--out", str(tmp_path / "none"),
                           "--port", "sim://x"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "no fleet manifest here" in done.stderr


@pytest.mark.parametrize("count", [2])
def test_status_shows_deployments(tmp_path: Path, count: int) -> None:
    out = make_fleet(tmp_path, [(f"dev-{i}", "") for i in range(count)])
    with board("1111") as one, board("2222") as two:
        assert deploy_fleet(out, [one.port, two.port]).exit_code == 0
    done = subprocess.run([sys.executable, "-m", "hatch_meadow", "fleet", "status", "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert json.loads(done.stdout)["deployed"] == count
