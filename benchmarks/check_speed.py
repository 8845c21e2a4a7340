"""`hatch-meadow check` on an RSA-2048 set vs OpenSSL's own checks of the same files, as processes.

    python benchmarks/check_speed.py [--runs N]

hatch-meadow: `hatch-meadow check --dir D`, the console script (`python -m hatch_meadow` without one); it
predicts what Mbed TLS parses, checks the pass file, the pair and the certificate's fields. Baseline:
`openssl rsa -check -noout -passin file:…` plus `openssl x509 -noout` (two processes). Interleaved, median
of N runs. Target (issue #9): ratio <= 1.0. Also printed: the in-process `check_credentials()` time, where
the RSA consistency check used to cost ~35 ms per key.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The command as a user runs it: the installed console script (python -m hatch_meadow without one).
SCRIPT = Path(sys.executable).with_name("hatch-meadow")
ENTRY = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "hatch_meadow"]


def timed(commands: list[list[str]], cwd: str) -> float:
    start = time.perf_counter()
    for command in commands:  # run outside any project, so only the credentials are checked
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=cwd)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    # Installed packages run from bytecode (pip compiles at install); a checkout may have none (or stale) when
    # PYTHONDONTWRITEBYTECODE is set, which would bill compile time to every hatch-meadow run.
    package = Path(__file__).resolve().parents[1] / "hatch_meadow"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)],
                   check=True)
    from hatch_meadow.creds.generate import generate_credentials
    from hatch_meadow.creds.validate import check_credentials

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "creds"
        generate_credentials(folder, device_id="bench-001", key_type="rsa-2048")
        ours = [[*ENTRY, "check", "--dir", str(folder)]]
        theirs = [["openssl", "rsa", "-check", "-noout", "-in", str(folder / "private_key.pem"), "-passin",
                   f"file:{folder / 'private_key_pass.txt'}"],
                  ["openssl", "x509", "-noout", "-in", str(folder / "client_cert.pem")]]
        timed(ours, tmp), timed(theirs, tmp)  # warm-up
        samples: dict[str, list[float]] = {"ours": [], "theirs": []}
        for index in range(args.runs):
            order = [("ours", ours), ("theirs", theirs)]
            for name, commands in order if index % 2 else reversed(order):
                samples[name].append(timed(commands, tmp))
        start = time.perf_counter()
        for _ in range(args.runs):
            check_credentials(folder)
        in_process = (time.perf_counter() - start) / args.runs
    mine, base = statistics.median(samples["ours"]), statistics.median(samples["theirs"])
    entry = " ".join(Path(a).name for a in ENTRY)
    print(f"RSA-2048 check ({entry}), median of {args.runs} runs: hatch-meadow check {mine * 1000:.1f} ms, "
          f"openssl rsa -check + x509 {base * 1000:.1f} ms, ratio {mine / base:.2f} (target <= 1.0)")
    print(f"  in-process check_credentials(): {in_process * 1000:.2f} ms")


if __name__ == "__main__":
    main()
