"""Peak memory of `hatch-meadow deploy` against a board that floods the port (issue #17: <= 100 MB).

    python benchmarks/flood_rss.py [--seconds S]

A pseudo-terminal stands in for the board and writes as fast as the host reads, for S seconds (default 8):
(1) bytes with no frame delimiter at all, (2) valid HCOM frames of TEXT_MONO_STDOUT lines (an app printing
in a loop), never answering a request. The deploy runs as a real process; its peak RSS comes from wait4().
Baseline in the same script: the peak RSS of `hatch-meadow --version` (the interpreter and imports).
"""

from __future__ import annotations

import argparse
import os
import pty
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

from hatch_meadow.protocol.codes import ResponseType
from hatch_meadow.protocol.framing import encode_frame
from hatch_meadow.protocol.packets import Message


def _peak_rss_mb(command: list[str], cwd: str, env: dict[str, str]) -> tuple[float, int]:
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, proc.returncode  # Linux: KiB


def _flood(master: int, chunk: bytes, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            os.write(master, chunk)
        except BlockingIOError:
            time.sleep(0.001)
        except OSError:  # EIO until the host opens the port (the "board" never holds it itself)
            time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.parse_args()
    from hatch_meadow.creds.generate import generate_credentials

    stdout_frame = encode_frame(Message(type=ResponseType.TEXT_MONO_STDOUT, payload=b"x" * 200).encode())
    floods = {"no delimiter": b"\x01" * 65536, "STDOUT frames": stdout_frame * 256}
    with tempfile.TemporaryDirectory() as tmp:
        generate_credentials(Path(tmp) / "c", device_id="bench-001", key_type="ec-p256")
        env = {**os.environ, "HATCH_MEADOW_STATE_DIR": str(Path(tmp) / "state")}
        base, _ = _peak_rss_mb([sys.executable, "-m", "hatch_meadow", "--version"], tmp, env)
        print(f"peak RSS, `hatch-meadow --version` (baseline): {base:.1f} MB")
        for name, chunk in floods.items():
            master, slave = pty.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            port = os.ttyname(slave)
            os.close(slave)  # as a USB board: nobody but the host has the port open
            stop = threading.Event()
            thread = threading.Thread(target=_flood, args=(master, chunk, stop), daemon=True)
            thread.start()
            started = time.monotonic()
            peak, code = _peak_rss_mb([sys.executable, "-m", "hatch_meadow", "deploy", "--dir", "c", "--port", port],
                                      tmp, env)
            took = time.monotonic() - started
            stop.set()
            thread.join()
            os.close(master)
            print(f"peak RSS, deploy against a board flooding {name}: {peak:.1f} MB (ratio to baseline "
                  f"{peak / base:.2f}; target <= 100 MB), exit {code} after {took:.1f} s")


if __name__ == "__main__":
    main()
