"""The board's own verdict (issue #14 items 2-5): `listen`, `deploy --listen`, the simulated board's app, and
`deploy --unchecked`, against simulated boards behind real pseudo-terminals and sim://."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hatch_meadow.boardlog import BoardLog
from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.deploy import load_credential_set
from hatch_meadow.deploy_job import DeployJob, run_deploy_job
from hatch_meadow.names import CREDENTIAL_FILES, PASS_FILE, PRIVATE_KEY
from hatch_meadow.protocol.codes import ResponseType
from hatch_meadow.protocol.packets import Message
from hatch_meadow.testing.faults import Faults
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.sim_app import AppModel
from hatch_meadow.testing.simulator import SimulatedMeadow

READY = "connected to the IoT hub"
PASS = "secret-pass-4711"


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def openssl_default_set(folder: Path) -> Path:
    """What a user makes with OpenSSL 3's defaults: a PKCS#8 key encrypted with PBES2 + AES-256."""
    folder.mkdir(parents=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes256",
                    "-pass", f"pass:{PASS}", "-out", str(folder / PRIVATE_KEY)], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-key", str(folder / PRIVATE_KEY), "-passin", f"pass:{PASS}",
                    "-out", str(folder / "client_cert.pem"), "-subj", "/CN=dev-1", "-days", "30"],
                   check=True, capture_output=True)
    (folder / PASS_FILE).write_text(PASS)
    for name in CREDENTIAL_FILES:
        (folder / name).chmod(0o600)
    return folder


def assert_no_secrets(text: str, folder: Path) -> None:
    assert "-----BEGIN" not in text
    assert PASS not in text
    key_body = [line for line in (folder / PRIVATE_KEY).read_text().splitlines() if not line.startswith("-----")]
    assert not any(line in text for line in key_body if len(line) > 20)


def test_the_readme_loop_end_to_end(tmp_path: Path) -> None:
    """An OpenSSL 3 default key: the board's line explained; `fix`; then the app reports ready."""
    creds = openssl_default_set(tmp_path / "creds")
    port = "sim://loop?runtime=enabled"
    refused = cli("deploy", "--dir", "creds", "--port", port, cwd=tmp_path)
    assert refused.returncode == 1
    assert "refusing to deploy" in refused.stderr
    bad = cli("deploy", "--dir", "creds", "--port", port, "--unchecked", "--listen", "10", "--ready", READY,
              cwd=tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "warning: --unchecked" in bad.stderr
    assert "the board's app reports an error: failed to parse private key -11904" in bad.stdout
    assert "MBEDTLS_ERR_PKCS5_FEATURE_UNAVAILABLE" in bad.stdout
    assert "cause (private_key.pem): the key is PKCS#8 encrypted with PBES2 and AES" in bad.stdout
    assert "fix:   hatch-meadow fix" in bad.stdout
    fixed = cli("fix", "--dir", "creds", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    good = cli("deploy", "--dir", "creds", "--port", port, "--listen", "10", "--ready", READY, "--json",
               cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    summary = json.loads(good.stdout)
    assert summary["ok"] is True
    assert summary["board_log"]["verdict"] == "ready"
    assert READY in summary["board_log"]["decisive_line"]["text"]
    for run in (refused, bad, fixed, good):
        assert_no_secrets(run.stdout + run.stderr, creds)


def test_deploy_listen_json_reports_the_error_line(tmp_path: Path) -> None:
    creds = openssl_default_set(tmp_path / "creds")
    done = cli("deploy", "--dir", "creds", "--port", "sim://j?runtime=enabled", "--unchecked", "--listen", "10",
               "--json", cwd=tmp_path)
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert summary["ok"] is False
    log = summary["board_log"]
    assert log["verdict"] == "error"
    error = log["decisive_line"]["error"]
    assert error["codes"][0]["hex"] == "-0x2E80"
    assert error["codes"][0]["file"] == PRIVATE_KEY
    assert all(line["text"] for line in log["lines"])
    assert_no_secrets(done.stdout, creds)


def test_silent_app_and_runtime_disabled(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "creds", device_id="dev-1")
    done = cli("deploy", "--dir", "creds", "--port", "sim://quiet", "--listen", "1.5", cwd=tmp_path)
    assert done.returncode == 0
    assert "printed no ready line and no credential or TLS error in 1.5 s" in done.stdout


def test_bad_ready_regex_is_refused_before_the_port_opens(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "creds", device_id="dev-1")
    done = cli("deploy", "--dir", "creds", "--port", "/dev/ttyNOPE9", "--listen", "5", "--ready", "([", cwd=tmp_path)
    assert done.returncode == 2
    assert "is not a valid regular expression" in done.stderr


def _job(creds: Path, port: str, seconds: float = 10.0) -> DeployJob:
    return DeployJob(port=port, creds=load_credential_set(creds), listen_seconds=seconds, ready=READY)


def test_console_lines_split_into_single_bytes_and_interleaved_with_replies(tmp_path: Path) -> None:
    """Replies and console lines arrive in 1-5-byte writes, STDOUT noise before 30 % of replies: the deploy
    succeeds and the app's verdict is read."""
    generate_credentials(tmp_path / "creds", device_id="dev-1")
    faults = Faults(split_replies=True, split_max_bytes=5, stdout_share=0.3, info_share=0.3, zero_share=0.3)
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.05, faults=faults, app=AppModel(chatter_every_s=0.02))
    with PtyBoard(board) as pty:
        result = run_deploy_job(_job(tmp_path / "creds", pty.port))
    assert result.board_log is not None
    assert result.board_log["verdict"] == "ready"
    assert board.esp_store == {n: (tmp_path / "creds" / n).read_bytes() for n in CREDENTIAL_FILES}


def test_console_lines_during_a_resync_barrier(tmp_path: Path) -> None:
    """A corrupted data packet forces a resync while the app prints every 20 ms: the deploy recovers."""
    generate_credentials(tmp_path / "creds", device_id="dev-1")
    app = AppModel(tls_after_s=0.05, chatter_every_s=0.02, chatter_after=2000)
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.05, faults=Faults(corrupt_data_packet=1), app=app)
    board.esp_store = {"client_cert.pem": b"old", "private_key.pem": b"old", "private_key_pass.txt": b""}
    with PtyBoard(board) as pty:
        result = run_deploy_job(_job(tmp_path / "creds", pty.port))
    assert result.syncs >= 1
    assert result.board_log is not None
    assert result.board_log["verdict"] == "ready"


def test_listen_cli_shows_explains_redacts_and_ends_on_sigint(tmp_path: Path) -> None:
    board = SimulatedMeadow(serial_number="ABCD")
    with PtyBoard(board) as pty:
        process = subprocess.Popen([sys.executable, "-m", "hatch_meadow", "listen", "--port", pty.port],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        board.say("App: hello")
        board.say("failed to parse private key -15232", ResponseType.TEXT_MONO_STDERR)
        board.say("-----BEGIN RSA PRIVATE KEY-----")
        board.say("MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7")
        board.say("-----END RSA PRIVATE KEY-----")
        board.say(f"passphrase is {PASS}")
        time.sleep(1.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "stdout App: hello" in out
    assert "stderr failed to parse private key -15232" in out
    assert "! PK_PASSWORD_MISMATCH (-15232 = -0x3B80)" in out
    assert "private_key_pass.txt does not decrypt the key" in out
    assert "[redacted: PEM block]" in out
    assert "MIIEpAIBAAKCAQEA" not in out
    assert "(interrupted)" in err
    assert "Traceback" not in err


def test_listen_until_and_fail_on_error_json(tmp_path: Path) -> None:
    board = SimulatedMeadow(serial_number="ABCD")
    with PtyBoard(board) as pty:
        process = subprocess.Popen([sys.executable, "-m", "hatch_meadow", "listen", "--port", pty.port, "--until",
                                    "ready now", "--fail-on-error", "--seconds", "30", "--json"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        board.say("ssl_handshake returned -0x7780")
        board.say("App: ready now")
        out, err = process.communicate(timeout=30)
    assert process.returncode == 1, err
    data = json.loads(out)
    assert data["errors"] == 1
    assert [line["text"] for line in data["lines"]] == ["ssl_handshake returned -0x7780", "App: ready now"]
    assert data["lines"][0]["error"]["codes"][0]["hex"] == "-0x7780"


def test_listen_sends_nothing(tmp_path: Path) -> None:
    board = SimulatedMeadow()
    with PtyBoard(board) as pty:
        done = subprocess.run([sys.executable, "-m", "hatch_meadow", "listen", "--port", pty.port, "--seconds", "1"],
                              capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0
    assert board.bytes_received == 0


def test_boardlog_redaction_and_limits() -> None:
    log = BoardLog(ready=re.compile("ready"), secrets=[b"hunter22"])
    for text in ("x" * 2000, "key is hunter22", "A" * 60, "-----BEGIN PRIVATE KEY-----", "QUJD" * 20, "-----END",
                 "App: ready"):
        log.feed(Message(type=ResponseType.TEXT_MONO_STDOUT, payload=text.encode()))
    texts = [line.text for line in log.lines]
    assert len(texts[0]) <= 500
    assert texts[1] == "key is [redacted]"
    assert texts[2] == "[redacted]"
    assert texts[3] == "[redacted: PEM block]"
    assert texts[4] == "[redacted]"
    assert log.verdict() == ("ready", log.lines[-1])


@pytest.mark.parametrize("payload", [b"line one\nline two", b"\x1b[31mred\x1b[0m", b"\xff\xfe bad utf-8"])
def test_boardlog_lines_are_split_and_made_safe(payload: bytes) -> None:
    log = BoardLog()
    log.feed(Message(type=ResponseType.TEXT_TRACE_MSG, payload=payload))
    assert log.lines
    assert all("\x1b" not in line.text for line in log.lines)
    assert {line.stream for line in log.lines} == {"trace"}


def test_sim_app_reports_each_kind_of_failure(tmp_path: Path) -> None:
    from hatch_meadow.testing.sim_app import tls_failure

    generate_credentials(tmp_path / "a", device_id="dev-1")
    generate_credentials(tmp_path / "b", device_id="dev-2")
    good = {n: (tmp_path / "a" / n).read_bytes() for n in CREDENTIAL_FILES}
    assert tls_failure(good) is None
    assert tls_failure({**good, PASS_FILE: good[PASS_FILE] + b"\n"}) == "failed to parse private key -15232"
    assert tls_failure({**good, PRIVATE_KEY: b"Replace this file with your private key"}) is not None
    mismatched = {**good, "client_cert.pem": (tmp_path / "b" / "client_cert.pem").read_bytes()}
    assert tls_failure(mismatched) == "mbedtls_ssl_handshake returned -30592"
    assert os.environ.get("HATCH_MEADOW_PORT") is None
