"""Fleet issuing speed and memory (issue #11).

    python benchmarks/fleet.py [--ec N] [--rsa N] [--openssl-sample N] [--rss-small N] [--rss-large N]

Speed: devices per second of `hatch-meadow fleet issue` (the real CLI, as a process) for N EC P-256 and N
RSA-2048 devices, against a loop of the equivalent `openssl` commands per device, run in this script on a
sample of devices: random passphrase (`openssl rand`), key (`openssl genpkey`), the key encrypted as
legacy PEM AES-256 (`openssl pkey`/`ec`/`rsa -traditional -aes256`), CSR (`openssl req -new`) and
CA-signed certificate (`openssl x509 -req -CA`). The fleet runs with one worker (`--jobs 1`, a like-for-like
loop) and with one per CPU. Targets: >= 10x faster for EC, >= 2x for RSA.

Memory: peak RSS (wait4) of `fleet issue --jobs 1` for a small and a large EC fleet (default 1,000 and
10,000 devices); the large fleet must not take more than 20 % more memory than the small one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSPHRASE = "benchmark-ca-passphrase"


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "HATCH_MEADOW_CA_PASSPHRASE": PASSPHRASE, "HATCH_MEADOW_STATE_DIR": str(root / "state")}


def _csv(path: Path, count: int, prefix: str) -> Path:
    path.write_text("device_id\n" + "".join(f"{prefix}-{i:05d}\n" for i in range(count)))
    return path


def _fleet(root: Path, count: int, key_type: str, jobs: int) -> tuple[float, float]:
    """(seconds, peak RSS MiB of the main process) for one `fleet issue` run into a fresh folder."""
    out = root / f"out-{key_type}-{count}-{jobs}"
    devices = _csv(root / f"{key_type}-{count}.csv", count, key_type)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "hatch_meadow", "fleet", "issue", "--ca", "CA", "--devices",
                             str(devices), "--out", str(out), "--key-type", key_type, "--jobs", str(jobs)],
                            cwd=root, env=_env(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    assert proc.stderr is not None
    errors = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"fleet issue failed: {errors}")
    shutil.rmtree(out)
    return took, usage.ru_maxrss / 1024


def _openssl_loop(root: Path, count: int, key_type: str) -> float:
    """Seconds for ``count`` devices made with the openssl CLI, one command at a time."""
    ca_key, ca_cert = root / "openssl-ca.key", root / "CA" / "ca_cert.pem"
    if not ca_key.exists():
        subprocess.run(["openssl", "pkey", "-in", str(root / "CA" / "ca_key.pem"), "-passin", f"pass:{PASSPHRASE}",
                        "-out", str(ca_key)], check=True, capture_output=True)
    ext = root / "client.cnf"
    ext.write_text("[v3]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    algorithm = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"] if key_type == "ec-p256" else \
        ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
    tool = "ec" if key_type == "ec-p256" else "rsa"

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    started = time.perf_counter()
    for i in range(count):
        folder = root / "openssl" / f"{key_type}-{i:05d}"
        folder.mkdir(parents=True)
        run("rand", "-base64", "-out", str(folder / "private_key_pass.txt"), "18")
        run("genpkey", *algorithm, "-out", str(folder / "plain.key"))
        run(tool, "-in", str(folder / "plain.key"), "-aes256", "-passout", f"file:{folder / 'private_key_pass.txt'}",
            "-out", str(folder / "private_key.pem"))
        run("req", "-new", "-key", str(folder / "plain.key"), "-subj", f"/CN={key_type}-{i:05d}", "-out",
            str(folder / "request.csr"))
        run("x509", "-req", "-in", str(folder / "request.csr"), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-set_serial", str(1000 + i), "-days", "365", "-sha256", "-extfile", str(ext), "-extensions", "v3",
            "-out", str(folder / "client_cert.pem"))
        (folder / "plain.key").unlink()
    took = time.perf_counter() - started
    shutil.rmtree(root / "openssl")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ec", type=int, default=1000, help="EC P-256 devices for the speed run")
    parser.add_argument("--rsa", type=int, default=100, help="RSA-2048 devices for the speed run")
    parser.add_argument("--openssl-sample", type=int, default=50, help="devices made by the openssl loop per type")
    parser.add_argument("--rss-small", type=int, default=1000)
    parser.add_argument("--rss-large", type=int, default=10000)
    args = parser.parse_args()
    cpus = min(os.cpu_count() or 1, 8)
    with tempfile.TemporaryDirectory(prefix="hm-fleet-bench-") as temp:
        root = Path(temp)
        subprocess.run([sys.executable, "-m", "hatch_meadow", "fleet", "init-ca", "--dir", "CA"], cwd=root,
                       env=_env(root), check=True, capture_output=True)
        print(f"fleet issue vs an openssl loop ({cpus} CPU(s); openssl sample {args.openssl_sample} devices)")
        for key_type, count, target in (("ec-p256", args.ec, 10.0), ("rsa-2048", args.rsa, 2.0)):
            sample = min(args.openssl_sample, count)
            openssl_rate = sample / _openssl_loop(root, sample, key_type)
            for jobs in sorted({1, cpus}):
                took, _ = _fleet(root, count, key_type, jobs)
                rate = count / took
                print(f"  {key_type:9} {count:6} devices, --jobs {jobs}: {rate:8.1f} devices/s  "
                      f"openssl loop {openssl_rate:6.1f} devices/s  ratio {rate / openssl_rate:6.2f}x "
                      f"(target >= {target:g}x)")
        print("peak RSS of `fleet issue --jobs 1` (EC P-256)")
        _, small = _fleet(root, args.rss_small, "ec-p256", 1)
        _, large = _fleet(root, args.rss_large, "ec-p256", 1)
        print(f"  {args.rss_small:6} devices: {small:6.1f} MiB")
        print(f"  {args.rss_large:6} devices: {large:6.1f} MiB  ratio {large / small:.3f} (target <= 1.20)")


if __name__ == "__main__":
    main()
