"""Deploy over a real pseudo-terminal to the simulated Meadow, throttled to 1 MB/s (USB full-speed CDC).

Prints, as ratios against the throttle's ideal or as per-file figures:
  * wire efficiency: file bytes / bytes written to the port (target >= 0.99);
  * a 1 MiB file: measured time / ideal time at the throttle rate (target <= 1.10);
  * 50 small files: overhead per file beyond their ideal transfer time (target < 20 ms; the vendor CLI
    polls every 500 ms for the start reply);
  * a repeat deploy of unchanged credentials: file bytes sent (target 0);
  * a credential deploy to a board whose reboot takes 1.5 s: wall time / (reboots x reboot time +
    transfer time), the transfer time measured in the same script by the same deploy without a
    reboot (target <= 1.25; the vendor CLI sleeps a fixed 3 s per reboot).

    python benchmarks/deploy.py [--rate BYTES_PER_S] [--files N] [--reboot S] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.deploy import DeployRecord, deploy, load_credential_set
from hatch_meadow.device import MeadowDevice
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import SimulatedMeadow
from hatch_meadow.transport import SerialTransport


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1_000_000.0, help="throttle, bytes per second")
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--reboot", type=float, default=1.5, help="simulated reboot time, seconds")
    parser.add_argument("--runs", type=int, default=3, help="runs of each reboot measurement (median)")
    args = parser.parse_args()
    rate = args.rate
    big = os.urandom(1 << 20)
    small = [os.urandom(2048) for _ in range(args.files)]
    with PtyBoard(SimulatedMeadow(reboot_s=0.05), bytes_per_second=rate) as board:
        device = MeadowDevice(SerialTransport(board.port))
        try:
            device.attach()
            wire0, payload0 = device.bytes_sent, device.payload_sent
            start = time.perf_counter()
            device.write_file(big, "/meadow0/big.bin")
            big_s = time.perf_counter() - start
            wire = device.bytes_sent - wire0
            payload = device.payload_sent - payload0
            assert board.board.files["/meadow0/big.bin"] == big
            per_file = []
            for i, data in enumerate(small):
                t0 = time.perf_counter()
                device.write_file(data, f"/meadow0/s{i}.bin")
                per_file.append(time.perf_counter() - t0 - len(data) / rate)
            with tempfile.TemporaryDirectory() as tmp:
                creds = Path(tmp) / "creds"
                generate_credentials(creds, device_id="bench-001")
                record = DeployRecord.load(Path(tmp) / "state")
                first = deploy(device, load_credential_set(creds), record=record)
                again = deploy(device, load_credential_set(creds), record=record)
        finally:
            device.close()
    ideal = len(big) / rate
    print(f"deploy over a pty to the simulated Meadow, throttled to {rate / 1e6:.2f} MB/s")
    print(f"  wire efficiency (1 MiB file):   {payload / wire:.4f}   target >= 0.99")
    print(f"  1 MiB file: {big_s * 1000:.0f} ms vs ideal {ideal * 1000:.0f} ms, ratio {big_s / ideal:.3f}   "
          "target <= 1.10")
    print(f"  {len(small)} small files (2 KiB): median overhead {statistics.median(per_file) * 1000:.1f} ms/file, "
          f"max {max(per_file) * 1000:.1f} ms   target < 20 ms")
    print(f"  credentials: first deploy {first.file_bytes} file bytes in {first.seconds:.2f} s "
          f"({first.reboots} restart); repeat deploy {again.file_bytes} file bytes ({again.credentials})   "
          "target 0")
    reboot_ratios(rate, args.reboot, args.runs)


def timed_deploy(rate: float, reboot_s: float, creds: Path, *, runtime: bool, reboot: bool) -> tuple[float, int]:
    """Wall time of one forced credential deploy to a fresh board, and the number of reboots it took."""
    sim = SimulatedMeadow(reboot_s=reboot_s, runtime_enabled=runtime)
    with PtyBoard(sim, bytes_per_second=rate) as board:
        device = MeadowDevice(SerialTransport(board.port))
        try:
            start = time.perf_counter()
            result = deploy(device, load_credential_set(creds), force=True, reboot=reboot)
            seconds = time.perf_counter() - start
        finally:
            device.close()
    assert sim.esp_store or not reboot
    return seconds, result.reboots


def reboot_ratios(rate: float, reboot_s: float, runs: int) -> None:
    """Credential deploys with real-length reboots against the same deploy without any."""
    with tempfile.TemporaryDirectory() as tmp:
        creds = Path(tmp) / "creds"
        generate_credentials(creds, device_id="bench-001")
        transfer = statistics.median(timed_deploy(rate, reboot_s, creds, runtime=False, reboot=False)[0]
                                     for _ in range(runs))
        for runtime in (False, True):
            measured = [timed_deploy(rate, reboot_s, creds, runtime=runtime, reboot=True) for _ in range(runs)]
            wall = statistics.median(s for s, _ in measured)
            reboots = measured[0][1]
            ideal = reboots * reboot_s + transfer
            print(f"  credential deploy, runtime {'enabled' if runtime else 'disabled'} ({reboots} reboot(s) of "
                  f"{reboot_s:.1f} s): {wall:.2f} s vs reboots + transfer {ideal:.2f} s "
                  f"(transfer alone {transfer * 1000:.0f} ms), ratio {wall / ideal:.3f}   target <= 1.25")


if __name__ == "__main__":
    main()
