"""`hatch-meadow generate` vs the Meadow docs' OpenSSL recipe, as whole processes (what a user waits for).

For each key (RSA-2048, EC P-256), encrypted with DES-EDE3-CBC like the docs:

* hatch-meadow: one process, `hatch-meadow generate --dir <fresh> --device-id bench-001 --key-type T
  --key-encryption des3` (the console script next to sys.executable, as a user runs it; `python -m
  hatch_meadow` when there is none; run in an empty folder so no project pyproject.toml is read);
* the recipe: four processes, `openssl genpkey`, `openssl req -new`, `openssl x509 -req -signkey` and
  `openssl rsa -des3 -traditional` (`openssl ec -des3` for EC), then writing the pass file.

Runs alternate between the two (and which goes first) so machine noise hits both alike; one untimed warm-up
run each. RSA key generation time is highly variable (it searches for random primes: a single 2048-bit
keygen ranges from a few ms to well over 100 ms), so compare medians of many runs (default 20), not means.
Target: ratio hatch-meadow / recipe <= 1.0.

    python benchmarks/generate.py [--runs N] [--key ec-p256|rsa-2048|all]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "hatch_meadow"
#: The command as a user runs it: the installed console script (python -m hatch_meadow without one).
SCRIPT = Path(sys.executable).with_name("hatch-meadow")
ENTRY = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "hatch_meadow"]
DEVICE_ID = "bench-001"
PASSPHRASE = "xyz"
LABELS = {"rsa-2048": "RSA-2048", "ec-p256": "EC P-256"}
GENPKEY = {
    "rsa-2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "ec-p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
}
ENCRYPT = {  # the recipe's last step: legacy ("traditional") PEM with DES-EDE3-CBC
    "rsa-2048": ["rsa", "-in", "k.pem", "-des3", "-traditional"],
    "ec-p256": ["ec", "-in", "k.pem", "-des3"],
}


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HATCH_MEADOW_")}


def run_hatch(key: str, workdir: Path, env: dict[str, str]) -> float:
    """Seconds for one `python -m hatch_meadow generate` process."""
    start = time.perf_counter()
    subprocess.run([*ENTRY, "generate", "--dir", str(workdir / "creds"),
                    "--device-id", DEVICE_ID, "--key-type", key, "--key-encryption", "des3"],
                   cwd=workdir, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def run_recipe(key: str, workdir: Path, env: dict[str, str], openssl: str) -> float:
    """Seconds for the docs' four openssl processes plus writing the pass file."""
    steps = [
        ["genpkey", *GENPKEY[key], "-out", "k.pem"],
        ["req", "-new", "-key", "k.pem", "-subj", f"/CN={DEVICE_ID}", "-out", "csr.pem"],
        ["x509", "-req", "-in", "csr.pem", "-signkey", "k.pem", "-days", "365", "-out", "client_cert.pem"],
        [*ENCRYPT[key], "-passout", f"pass:{PASSPHRASE}", "-out", "private_key.pem"],
    ]
    start = time.perf_counter()
    for step in steps:
        subprocess.run([openssl, *step], cwd=workdir, env=env, check=True, capture_output=True)
    (workdir / "private_key_pass.txt").write_bytes(PASSPHRASE.encode())
    return time.perf_counter() - start


def timed_in_fresh_dir(root: Path, run: Callable[[Path], float]) -> float:
    """Run ``run`` in a new empty folder under ``root`` and remove it afterwards."""
    workdir = Path(tempfile.mkdtemp(dir=root))
    try:
        return run(workdir)
    finally:
        shutil.rmtree(workdir)


def compare(key: str, runs: int, openssl: str) -> tuple[float, float]:
    """Median seconds (hatch-meadow, recipe) over ``runs`` interleaved runs each."""
    env = _env()

    def hatch(workdir: Path) -> float:
        return run_hatch(key, workdir, env)

    def recipe(workdir: Path) -> float:
        return run_recipe(key, workdir, env, openssl)

    hatch_times: list[float] = []
    recipe_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        timed_in_fresh_dir(root, hatch)  # warm-up: page cache, bytecode
        timed_in_fresh_dir(root, recipe)
        for i in range(runs):
            order = [(hatch, hatch_times), (recipe, recipe_times)]
            for variant, times in order if i % 2 == 0 else reversed(order):
                times.append(timed_in_fresh_dir(root, variant))
    return statistics.median(hatch_times), statistics.median(recipe_times)


#: Issue #9's targets for `generate` as a process against the OpenSSL recipe.
TARGETS = {"rsa-2048": 0.8, "ec-p256": 2.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each variant (default 20)")
    parser.add_argument("--key", choices=[*LABELS, "all"], default="all")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    openssl = shutil.which("openssl")
    if openssl is None:
        parser.error("the openssl CLI is not on PATH")
    # Installed packages run from bytecode (pip compiles at install); an editable checkout may not have any when
    # PYTHONDONTWRITEBYTECODE is set, which would bill compile time to every hatch-meadow run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(PACKAGE)], check=True)
    keys = list(LABELS) if args.key == "all" else [args.key]
    keys.sort(key=lambda k: k != "rsa-2048")  # RSA first, as in the docs
    print(f"median of {args.runs} runs each, interleaved; {' '.join(ENTRY)}; "
          f"{subprocess.run([openssl, 'version'], capture_output=True, text=True, check=True).stdout.strip()}")
    for key in keys:
        hatch, recipe = compare(key, args.runs, openssl)
        print(f"{LABELS[key]} encrypted: hatch-meadow {hatch * 1000:.1f} ms, openssl recipe {recipe * 1000:.1f} ms, "
              f"ratio {hatch / recipe:.3f} (target <= {TARGETS[key]})", flush=True)
        library = in_process(key, args.runs)
        print(f"  in-process generate_credentials() (fleet scripts, the hook): {library * 1000:.1f} ms, ratio to the "
              f"recipe {library / recipe:.3f}", flush=True)


def in_process(key: str, runs: int) -> float:
    """Median time of the library call itself, without a Python start-up per set."""
    import tempfile
    import time

    from hatch_meadow.creds.generate import generate_credentials

    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            start = time.perf_counter()
            generate_credentials(Path(tmp) / str(i), device_id="bench-001", key_type=key, key_encryption="des3")
            times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main()
