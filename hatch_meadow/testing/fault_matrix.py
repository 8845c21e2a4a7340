"""The deploy fault matrix and the two board-timing scenarios, against the simulated Meadow on a real pty.

Every case deploys a credential set plus one output file of a given size to a fresh simulated board
that already holds an older set, with one fault switched on, through the real serial stack (pyserial
on a pseudo-terminal), and then inspects the board: the new credentials must be in its secrets store
and the file at its path, byte for byte, with the runtime as it was (*recovered*), or the deploy
must fail with a DeviceError naming the cause while the board still holds the old set and its
runtime as it was (*clean failure*). Anything else is a *silent corruption* (the deploy said ok
and the board holds something else, or it failed and left a mixed set or the app switched off) or
a *crash* (an exception that is not one of ours); both must be 0.

    python -m hatch_meadow.testing.fault_matrix              # the matrix (fast board timing, 4 at a time)
    python -m hatch_meadow.testing.fault_matrix --scenarios 20   # also issue #8's two scenarios, 20 runs each
    python -m hatch_meadow.testing.fault_matrix --real-timing    # the matrix with the board's real 3 s watchdog

Axes: fault x position {first, middle, last data packet} x file size {0, 1, 8188, 8189, 300000} x
runtime {enabled, disabled}. Positional faults: the board stops reading past its watchdog after
packet N ("pause"), drops packet N, corrupts packet N, aborts at packet N as if the watchdog fired
("resend"), corrupts packet N and sends a CONCLUDED after every error ("error+concluded"), and a noisy
link (STDOUT before 30 % of replies, OS INFO lines before 30 %, lone 0x00 before 30 %, replies in
1-5-byte writes, 2 ms latency) that also drops packet N, and a pause past the watchdog whose abort
also clears the input the board had read ("swallowed-end": the host's END is never answered).
Whole-deploy faults: two transient INIT failures, a post-boot CONCLUDED so late that the client has
already pinged ("late-concluded"), a RECONNECT that never reaches the host ("lost-reconnect"), a
board that drops off USB only after the host has reopened the dying port ("late-unplug"), and a
private key that can never arrive intact ("failing-key": a clean failure is the right outcome).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from hatch_meadow.device import MeadowDevice, Timeouts
from hatch_meadow.errors import MeadowError
from hatch_meadow.names import CREDENTIAL_FILES
from hatch_meadow.protocol.codes import MAX_DATA_BYTES
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.sim_app import AppModel
from hatch_meadow.testing.simulator import Faults, SimulatedMeadow
from hatch_meadow.transport import SerialTransport

SIZES: Final = (0, 1, 8188, 8189, 300_000)
POSITIONS: Final = ("first", "middle", "last")
POSITIONAL: Final = ("pause", "drop", "corrupt", "resend", "error+concluded", "noisy", "swallowed-end")
WHOLE: Final = ("init-fail", "late-concluded", "lost-reconnect", "late-unplug", "failing-key")
#: Cases where failing (cleanly) is the right outcome.
MUST_FAIL: Final = frozenset({"failing-key"})
#: What every board holds before the deploy: a failed deploy must leave exactly this.
OLD_SET: Final = {"client_cert.pem": b"old certificate", "private_key.pem": b"old key",
                  "private_key_pass.txt": b"old passphrase"}
BLOB: Final = "blob.bin"


@dataclass(frozen=True, slots=True)
class Timing:
    """The board's clock: the real one, or a faster one with the same ordering of events."""

    watchdog_s: float
    pause_s: float  # longer than the watchdog, so the board asks for a resend while the host's END waits
    reboot_s: float
    boot_concluded_delay_s: float
    late_concluded_s: float  # past the client's post-boot wait below
    late_unplug_s: float  # past the transport's wait for the old port to vanish (0.5 s)
    client: Timeouts


FAST: Final = Timing(watchdog_s=0.5, pause_s=0.7, reboot_s=0.2, boot_concluded_delay_s=0.02,
                     late_concluded_s=0.5, late_unplug_s=0.7,
                     client=Timeouts(post_boot=0.2, ping_interval=0.1, sync=5.0, end=5.0))
REAL: Final = Timing(watchdog_s=3.0, pause_s=4.0, reboot_s=1.5, boot_concluded_delay_s=0.2,
                     late_concluded_s=2.5, late_unplug_s=0.8, client=Timeouts())


@dataclass(frozen=True, slots=True)
class Case:
    """One cell of the matrix."""

    fault: str
    position: str  # "-" for whole-deploy faults
    size: int
    runtime: bool

    @property
    def label(self) -> str:
        """Short id, e.g. ``pause/middle/8189/runtime-on``."""
        return f"{self.fault}/{self.position}/{self.size}/runtime-{'on' if self.runtime else 'off'}"


@dataclass
class Outcome:
    """What one case ended with."""

    case: Case
    verdict: str  # recovered | clean-failure | silent-corruption | crash
    detail: str = ""
    fired: int = 0
    max_attempts: int = 0
    seconds: float = 0.0


def cases() -> Iterator[Case]:
    """Every cell, positional faults first."""
    for fault in POSITIONAL:
        for position in POSITIONS:
            for size in SIZES:
                for runtime in (True, False):
                    yield Case(fault, position, size, runtime)
    for fault in WHOLE:
        for size in SIZES:
            for runtime in (True, False):
                yield Case(fault, "-", size, runtime)


def packet_number(position: str, size: int) -> int:
    """Which data packet of the output file the fault hits (1 when the file has none)."""
    count = -(-size // MAX_DATA_BYTES)
    return {"first": 1, "middle": max(1, (count + 1) // 2), "last": max(1, count)}[position]


#: The app of ``--app`` runs: prints a line every 50 ms for as long as the runtime is on.
PRINTING_APP: Final = AppModel(tls_after_s=0.2, chatter_every_s=0.05, chatter_after=4000)


def board_for(case: Case, timing: Timing, *, seed: int = 0, app: bool = False) -> SimulatedMeadow:
    """A fresh simulated board with the case's fault switched on."""
    faults = Faults()
    number = packet_number(case.position, case.size) if case.position != "-" else 0
    if case.fault == "pause":
        faults.pause_after_packet, faults.pause_s = number, timing.pause_s
    elif case.fault == "drop":
        faults.drop_data_packet = number
    elif case.fault == "corrupt":
        faults.corrupt_data_packet = number
    elif case.fault == "resend":
        faults.resend_after_packet = number
    elif case.fault == "error+concluded":
        faults.corrupt_data_packet, faults.concluded_after_error = number, True
    elif case.fault == "noisy":
        faults = noisy_faults(drop=number)
    elif case.fault == "swallowed-end":
        faults.pause_after_packet, faults.pause_s, faults.watchdog_clears_input = number, timing.pause_s, True
    elif case.fault == "init-fail":
        faults.init_fail_times = 2
    elif case.fault == "lost-reconnect":
        faults.drop_reconnect = True
    elif case.fault == "late-unplug":
        faults.late_unplug_s = timing.late_unplug_s
    elif case.fault == "failing-key":
        faults.corrupt_path_suffix = "/private_key.pem"
    board = SimulatedMeadow(runtime_enabled=case.runtime, reboot_s=timing.reboot_s, watchdog_s=timing.watchdog_s,
                            boot_concluded_delay_s=timing.boot_concluded_delay_s, faults=faults, seed=seed,
                            app=PRINTING_APP if app else None)
    board.esp_store = dict(OLD_SET)
    if case.fault == "late-concluded":
        board.boot_concluded_delay_s = timing.late_concluded_s
    return board


def noisy_faults(*, drop: int | None = None, corrupt: int | None = None, session: bool = False) -> Faults:
    """The noisy link: STDOUT and OS INFO lines before 30 % of replies each, lone 0x00 before 30 %, 1-5-byte
    writes, 2 ms latency."""
    return Faults(stdout_share=0.3, info_share=0.3, zero_share=0.3, split_replies=True, split_max_bytes=5,
                  reply_latency_s=0.002, drop_data_packet=drop, corrupt_data_packet=corrupt, session_packets=session)


def fired(board: SimulatedMeadow) -> int:
    """How many faults fired (the noise is not counted; a late CONCLUDED or unplug is not a counted event)."""
    return sum(count for name, count in board.faults_fired.items() if name != "concluded_after_error")


def run_case(case: Case, creds: dict[str, bytes], timing: Timing = FAST, *, seed: int = 0,
             app: bool = False) -> Outcome:
    """Deploy to a fresh board with the case's fault; classify what the board ends up holding."""
    from hatch_meadow.deploy import CredentialSet, deploy
    from hatch_meadow.state import fingerprint

    blob = os.urandom(case.size)
    board = board_for(case, timing, seed=seed, app=app)
    credential_set = CredentialSet(dict(creds), fingerprint(*creds.values()), None)
    started = time.monotonic()
    outcome = Outcome(case, "recovered")
    with PtyBoard(board) as pty:
        device = MeadowDevice(SerialTransport(pty.port), timeouts=timing.client)
        try:
            result = deploy(device, credential_set, extra_files={BLOB: blob}, force=True)
            outcome.max_attempts = max(result.attempts.values(), default=0)
        except MeadowError as exc:
            outcome.verdict, outcome.detail = "clean-failure", exc.message
        except Exception as exc:  # noqa: BLE001 - a crash is a finding of this matrix, not a reason to stop it
            outcome.verdict, outcome.detail = "crash", f"{type(exc).__name__}: {exc}"
        finally:
            device.close()
    outcome.seconds = time.monotonic() - started
    outcome.fired = fired(board)
    wrong = _board_problems(board, case, creds, blob, failed=outcome.verdict == "clean-failure")
    if wrong and outcome.verdict in ("recovered", "clean-failure"):
        outcome.verdict, outcome.detail = "silent-corruption", f"{outcome.detail} wrong on the board: {wrong}"
    return outcome


def _board_problems(board: SimulatedMeadow, case: Case, creds: dict[str, bytes], blob: bytes, *,
                    failed: bool) -> str:
    """What the board holds that it should not, after a deploy that succeeded or failed ("" if nothing)."""
    wrong = []
    expected = OLD_SET if failed else creds
    if board.esp_store != expected:
        mixed = {name for name in CREDENTIAL_FILES if board.esp_store.get(name) not in (OLD_SET[name], creds[name])}
        wrong.append("a mixed or foreign credential set" if mixed or failed else "not the new credential set")
    if not failed and board.files.get(f"/meadow0/{BLOB}") != blob:
        wrong.append(BLOB)
    if board.runtime_enabled != case.runtime:
        wrong.append("runtime left " + ("on" if board.runtime_enabled else "off"))
    if any(board.files.get(f"/meadow0/{name}") for name in CREDENTIAL_FILES):
        wrong.append("credential files left in /meadow0/")
    return ", ".join(wrong)


def sample_credentials(folder: Path) -> dict[str, bytes]:
    """A real credential set (EC P-256, AES-256 key), generated into ``folder``."""
    from hatch_meadow.creds.generate import generate_credentials

    generate_credentials(folder, device_id="matrix-001", key_type="ec-p256")
    return {name: (folder / name).read_bytes() for name in CREDENTIAL_FILES}


@dataclass
class Summary:
    """Counts over a run of the matrix."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        """Cases per verdict."""
        return Counter(o.verdict for o in self.outcomes)

    def lines(self) -> list[str]:
        """The figures, one per line."""
        counts = self.counts
        total = len(self.outcomes)
        fired_cases = sum(1 for o in self.outcomes if o.fired)
        recovered = [o for o in self.outcomes if o.verdict == "recovered"]
        attempts = Counter(o.max_attempts for o in recovered)
        must_fail = sum(1 for o in self.outcomes if o.case.fault in MUST_FAIL)
        lines = [
            f"cases {total}: recovered {counts['recovered']}, clean failures {counts['clean-failure']} "
            f"({must_fail} cases where failing is right), silent corruptions {counts['silent-corruption']}, "
            f"crashes {counts['crash']}",
            f"faults fired in {fired_cases} cases; most attempts per file among recovered: "
            + ", ".join(f"{n}: {c} cases" for n, c in sorted(attempts.items())),
            f"time {sum(o.seconds for o in self.outcomes):.1f} s, slowest case "
            f"{max((o.seconds for o in self.outcomes), default=0.0):.2f} s",
        ]
        lines += [f"  {o.verdict}: {o.case.label}: {o.detail}" for o in self.outcomes
                  if o.verdict != ("clean-failure" if o.case.fault in MUST_FAIL else "recovered")]
        return lines


def run_matrix(timing: Timing = FAST, *, only: Callable[[Case], bool] | None = None,
               progress: Callable[[Outcome], None] | None = None, jobs: int = 1, app: bool = False) -> Summary:
    """Run every case (or those ``only`` selects), ``jobs`` at a time (each on its own pty), and return the outcomes.

    Cases mostly wait (watchdogs, reboots), so several run well side by side even on two cores.
    """
    from concurrent.futures import ThreadPoolExecutor

    summary = Summary()
    selected = [(seed, case) for seed, case in enumerate(cases()) if only is None or only(case)]
    with tempfile.TemporaryDirectory() as tmp:
        creds = sample_credentials(Path(tmp) / "creds")
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for outcome in pool.map(lambda item: run_case(item[1], creds, timing, seed=item[0], app=app), selected):
                summary.outcomes.append(outcome)
                if progress is not None:
                    progress(outcome)
    return summary


def main(argv: list[str] | None = None) -> int:
    """Print the matrix figures (and the scenarios' with --scenarios N); exit 1 on a corruption, crash or failed run."""
    parser = argparse.ArgumentParser(prog="python -m hatch_meadow.testing.fault_matrix",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=0, metavar="N",
                        help="also run issue #8's two scenarios N times each through the CLI")
    parser.add_argument("--real-timing", action="store_true", help="the board's real 3 s watchdog and 1.5 s reboots")
    parser.add_argument("--no-matrix", action="store_true", help="only the scenarios")
    parser.add_argument("-j", "--jobs", type=int, default=4, help="cases run side by side (default 4)")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    parser.add_argument("--app", action="store_true",
                        help="the board's app prints a console line every 50 ms while the runtime is on")
    args = parser.parse_args(argv)
    bad = False
    if not args.no_matrix:
        timing = REAL if args.real_timing else FAST
        print(f"fault matrix ({'real' if args.real_timing else 'fast'} board timing: watchdog {timing.watchdog_s} s, "
              f"reboot {timing.reboot_s} s{'; the app printing every 50 ms' if args.app else ''})", flush=True)

        def show(outcome: Outcome) -> None:
            if args.verbose:
                print(f"  {outcome.verdict:17} {outcome.case.label} ({outcome.seconds:.2f} s, "
                      f"{outcome.max_attempts} attempts)", flush=True)

        summary = run_matrix(timing, progress=show, jobs=args.jobs, app=args.app)
        for line in summary.lines():
            print(line)
        bad = bool(summary.counts["silent-corruption"] or summary.counts["crash"]) or any(
            o.verdict != ("clean-failure" if o.case.fault in MUST_FAIL else "recovered") for o in summary.outcomes)
    if args.scenarios:
        from hatch_meadow.testing.scenarios import ScenarioRun, run_scenarios

        def report(name: str, run: ScenarioRun) -> None:
            if args.verbose or not run.ok:
                print(f"  {name}: {'ok' if run.ok else 'FAILED'} in {run.seconds:.1f} s, "
                      f"{run.max_starts} start(s) per file at most {run.detail}", flush=True)

        results = run_scenarios(args.scenarios, progress=report)
        for name, runs in results.items():
            passed = sum(r.ok for r in runs)
            print(f"scenario {name}: {passed}/{len(runs)} runs ok (exit 0, store = local files, runtime enabled "
                  f"again, <= 2 attempts per file); median {sorted(r.seconds for r in runs)[len(runs) // 2]:.1f} s")
            bad = bad or passed != len(runs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
