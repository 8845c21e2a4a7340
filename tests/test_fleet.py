"""`hatch-meadow fleet` (issue #11): a fleet CA, per-device CA-signed credentials from a CSV, the manifest and
Azure's bulk files, the CSR flow for an existing PKI, resumability. Real OpenSSL verifies every certificate,
real Mbed TLS parses every folder, a real `openssl s_server` checks the TLS handshake."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from hatch_meadow.creds.validate import check_credentials
from hatch_meadow.fleet.ca import init_ca, load_ca
from hatch_meadow.fleet.devices import read_devices
from hatch_meadow.fleet.folders import folder_name
from hatch_meadow.fleet.issue import IssueOptions, issue_fleet
from hatch_meadow.names import CLIENT_CERT, PASS_FILE, PRIVATE_KEY

PASSPHRASE = "fleet-ca-passphrase-for-tests"
OPENSSL = shutil.which("openssl") or "openssl"
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")


def hm(*args: str, cwd: Path, env: dict[str, str] | None = None,
       timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process (the CA passphrase in its environment, never in argv)."""
    full = {**os.environ, "HATCH_MEADOW_CA_PASSPHRASE": PASSPHRASE, **(env or {})}
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, check=False, timeout=timeout)


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "device_id,serial_number") -> Path:
    path.write_text(header + "\n" + "".join(f"{a},{b}\n" for a, b in rows), encoding="utf-8")
    return path


def tree_snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class Fleet:
    root: Path
    ca: Path
    out: Path
    devices: Path
    first: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module", name="fleet50")
def _fleet50(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Fifty EC devices from a CSV, issued through the CLI with two workers."""
    root = tmp_path_factory.mktemp("fleet50")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HATCH_MEADOW_STATE_DIR", str(root / "state"))
        devices = write_csv(root / "devices.csv",
                            [(f"meadow-{i:03d}", f"SER{i:05d}" if i % 2 else "") for i in range(50)])
        made = hm("fleet", "init-ca", "--dir", "CA", "--name", "Test Fleet CA", cwd=root)
        assert made.returncode == 0, made.stderr
        first = hm("fleet", "issue", "--ca", "CA", "--devices", "devices.csv", "--out", "OUT", "--key-type",
                   "ec-p256", "--jobs", "2", "--auth", "self-signed", "--json", cwd=root)
        yield Fleet(root, root / "CA", root / "OUT", devices, first)


def manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return data


# --- the Must show: 50 from a CSV --------------------------------------------------------------------------

def test_fifty_devices_issued_from_csv(fleet50: Fleet) -> None:
    assert fleet50.first.returncode == 0, fleet50.first.stderr
    summary = json.loads(fleet50.first.stdout)
    assert (summary["issued"], summary["kept"], summary["failed"]) == (50, 0, 0)
    data = manifest(fleet50.out)
    assert data["schema_version"] == 1
    assert [d["device_id"] for d in data["devices"]] == [f"meadow-{i:03d}" for i in range(50)]
    assert data["devices"][1]["serial_number"] == "SER00001"
    assert data["devices"][0]["serial_number"] is None
    assert {d["state"] for d in data["devices"]} == {"issued"}


@needs_openssl
def test_every_certificate_chains_to_the_ca(fleet50: Fleet) -> None:
    certs = [str(fleet50.out / f"meadow-{i:03d}" / CLIENT_CERT) for i in range(50)]
    done = subprocess.run([OPENSSL, "verify", "-CAfile", str(fleet50.ca / "ca_cert.pem"), "-purpose", "sslclient",
                           *certs], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == 50


@needs_openssl
def test_the_ca_certificate_is_a_ca_with_the_right_extensions(fleet50: Fleet) -> None:
    text = subprocess.run([OPENSSL, "x509", "-in", str(fleet50.ca / "ca_cert.pem"), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert "CA:TRUE, pathlen:0" in text
    assert "Certificate Sign, CRL Sign" in text
    assert "Subject Key Identifier" in text
    device = subprocess.run([OPENSSL, "x509", "-in", str(fleet50.out / "meadow-000" / CLIENT_CERT), "-noout",
                             "-text"], capture_output=True, text=True, check=True).stdout
    assert "Authority Key Identifier" in device
    assert "TLS Web Client Authentication" in device
    assert "Subject: CN = meadow-000" in device
    assert "Issuer: CN = Test Fleet CA" in device
    key_mode = (fleet50.ca / "ca_key.pem").stat().st_mode & 0o777
    assert key_mode == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in (fleet50.ca / "ca_key.pem").read_bytes()


def test_every_folder_passes_check(fleet50: Fleet) -> None:
    for entry in manifest(fleet50.out)["devices"]:
        folder = fleet50.out / entry["folder"]
        report = check_credentials(folder, device_id=entry["device_id"])
        assert report.usable_reason is None, (entry["device_id"], report.usable_reason)
        assert report.ok
        assert report.parse == "accept"
        assert report.pair == "match"
        assert (folder / PRIVATE_KEY).stat().st_mode & 0o777 == 0o600
        assert (folder / PASS_FILE).stat().st_mode & 0o777 == 0o600


def test_every_folder_passes_the_cli_check(fleet50: Fleet) -> None:
    done = hm("check", "--dir", "OUT/meadow-007", "--device-id", "meadow-007", "--strict", cwd=fleet50.root)
    assert done.returncode == 0, done.stdout + done.stderr


def test_real_mbedtls_parses_every_folder(fleet50: Fleet, real_mbedtls) -> None:  # type: ignore[no-untyped-def]
    for i in range(50):
        folder = fleet50.out / f"meadow-{i:03d}"
        cert, key = (folder / CLIENT_CERT).read_bytes(), (folder / PRIVATE_KEY).read_bytes()
        result = real_mbedtls.check_pair(cert, key, (folder / PASS_FILE).read_bytes() or None)
        assert result.ok, (folder, result)


@needs_openssl
def test_manifest_thumbprints_equal_openssl_fingerprints(fleet50: Fleet) -> None:
    rows = list(csv.DictReader((fleet50.out / "manifest.csv").read_text().splitlines()))
    assert len(rows) == 50
    for entry, row in zip(manifest(fleet50.out)["devices"], rows, strict=True):
        cert = fleet50.out / entry["folder"] / CLIENT_CERT
        for digest, key in (("-sha1", "sha1_thumbprint"), ("-sha256", "sha256_thumbprint")):
            out = subprocess.run([OPENSSL, "x509", "-in", str(cert), "-noout", "-fingerprint", digest],
                                 capture_output=True, text=True, check=True).stdout
            expected = out.strip().split("=", 1)[1].replace(":", "")
            assert entry[key] == expected == row[key]
        serial = subprocess.run([OPENSSL, "x509", "-in", str(cert), "-noout", "-serial"], capture_output=True,
                                text=True, check=True).stdout.strip().split("=", 1)[1]
        assert int(serial, 16) == int(entry["cert_serial"], 16)


def test_iothub_import_jsonl_has_azure_fields(fleet50: Fleet) -> None:
    lines = (fleet50.out / "iothub-import.jsonl").read_text().splitlines()
    assert len(lines) == 50
    thumbprints = {d["device_id"]: d["sha256_thumbprint"] for d in manifest(fleet50.out)["devices"]}
    for line in lines:
        record = json.loads(line)
        assert set(record) == {"id", "importMode", "status", "authentication"}
        assert record["importMode"] == "createOrUpdate"
        assert record["status"] == "enabled"
        auth = record["authentication"]
        assert auth["type"] == "selfSigned"
        assert auth["x509Thumbprint"]["primaryThumbprint"] == thumbprints[record["id"]]
        assert len(auth["x509Thumbprint"]["primaryThumbprint"]) == 64


def test_azure_script_is_valid_shell_with_one_line_per_device(fleet50: Fleet) -> None:
    script = fleet50.out / "azure.sh"
    assert subprocess.run(["sh", "-n", str(script)], check=False).returncode == 0
    text = script.read_text()
    assert text.count("az iot hub device-identity create") == 50
    assert '--hub-name "$HUB" --device-id meadow-000 --am x509_thumbprint --ptp' in text
    # Runs as written with a stand-in `az` that records its arguments.
    bin_dir = fleet50.root / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "az").write_text('#!/bin/sh\nprintf "%s|" "$@" >> "$AZ_LOG"; echo >> "$AZ_LOG"\n')
    (bin_dir / "az").chmod(0o755)
    log = fleet50.root / "az.log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "AZ_LOG": str(log), "HUB": "my-hub"}
    assert subprocess.run(["sh", str(script)], env=env, check=False).returncode == 0
    calls = log.read_text().splitlines()
    assert len(calls) == 50
    assert calls[0].startswith("iot|hub|device-identity|create|--hub-name|my-hub|")
    missing_hub = subprocess.run(["sh", str(script)], env={**env, "HUB": ""}, capture_output=True, text=True,
                                 check=False)
    assert missing_hub.returncode != 0
    assert "set HUB" in missing_hub.stderr


def test_rerun_issues_nothing(fleet50: Fleet) -> None:
    before = tree_snapshot(fleet50.out)
    again = hm("fleet", "issue", "--ca", "CA", "--devices", "devices.csv", "--out", "OUT", "--auth", "self-signed",
               "--json", cwd=fleet50.root)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert (summary["issued"], summary["kept"], summary["failed"]) == (0, 50, 0)
    after = tree_snapshot(fleet50.out)
    device_files = {k: v for k, v in before.items() if "/" in k}
    assert {k: after[k] for k in device_files} == device_files  # no key or certificate changed
    assert [d["state"] for d in manifest(fleet50.out)["devices"]] == ["kept"] * 50


def test_no_secret_in_any_output(fleet50: Fleet) -> None:
    secrets = [(fleet50.out / f"meadow-{i:03d}" / PASS_FILE).read_bytes() for i in range(50)]
    outputs = [(fleet50.out / name).read_bytes() for name in
               ("manifest.json", "manifest.csv", "iothub-import.jsonl", "azure.sh")]
    outputs.append(fleet50.first.stdout.encode() + fleet50.first.stderr.encode())
    for blob in outputs:
        assert b"PRIVATE KEY" not in blob
        assert not any(secret in blob for secret in secrets if secret)
    assert PASSPHRASE.encode() not in b"".join(outputs)


def test_status_reports_the_fleet(fleet50: Fleet) -> None:
    done = hm("fleet", "status", "--out", "OUT", "--json", cwd=fleet50.root)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["devices"] == 50
    assert status["deployed"] == 0
    assert status["ok"] is True
    soon = hm("fleet", "status", "--out", "OUT", "--expires-within", "400", cwd=fleet50.root)
    assert soon.returncode == 1
    assert soon.stdout.count("expiring") == 50


# --- a TLS handshake against a real server that requires client certificates ---------------------------------

@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(name="s_server")
def _s_server(fleet50: Fleet, tmp_path: Path) -> Iterator[Server]:
    """`openssl s_server -Verify 1 -CAfile ca_cert.pem`: it requires a client certificate chaining to the CA."""
    server_key, server_cert = tmp_path / "server.key", tmp_path / "server.pem"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(server_key), "-out", str(server_cert), "-subj", "/CN=localhost", "-days", "2"],
                   capture_output=True, check=True)
    port = _free_port()
    process = subprocess.Popen([OPENSSL, "s_server", "-accept", str(port), "-cert", str(server_cert), "-key",
                                str(server_key), "-Verify", "1", "-verify_return_error", "-CAfile",
                                str(fleet50.ca / "ca_cert.pem"), "-tls1_2", "-quiet"],
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield Server(port, process)
    finally:
        process.kill()
        process.communicate()


def _handshake(port: int, folder: Path) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # the client certificate's verdict comes in the handshake
    context.load_cert_chain(folder / CLIENT_CERT, folder / PRIVATE_KEY, password=(folder / PASS_FILE).read_bytes())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw) as conn:
        conn.sendall(b"hello\n")


@needs_openssl
def test_device_handshakes_with_a_server_that_trusts_the_ca(fleet50: Fleet, s_server: Server) -> None:
    _handshake(s_server.port, fleet50.out / "meadow-003")


@needs_openssl
def test_device_of_a_foreign_ca_is_refused(fleet50: Fleet, s_server: Server, tmp_path: Path) -> None:
    foreign_ca = init_ca(tmp_path / "FOREIGN", passphrase=b"another-passphrase")
    write_csv(tmp_path / "d.csv", [("meadow-003", "")])
    issue_fleet(foreign_ca, read_devices(tmp_path / "d.csv"), tmp_path / "OUT", IssueOptions(key_type="ec-p256"),
                auth="ca")
    with pytest.raises(ssl.SSLError, match=r"(?i)unknown ca|certificate"):
        _handshake(s_server.port, tmp_path / "OUT" / "meadow-003")


# --- the CSR flow with an external signer ------------------------------------------------------------------

@needs_openssl
def test_csr_flow_with_an_external_signer(tmp_path: Path, real_mbedtls) -> None:  # type: ignore[no-untyped-def]
    write_csv(tmp_path / "devices.csv", [(f"ext-{i}", "") for i in range(5)])
    # The "existing PKI": an OpenSSL CA made outside hatch-meadow.
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "extca.key", "-out",
                    "extca.pem", "-subj", "/CN=External CA", "-days", "30", "-addext",
                    "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   cwd=tmp_path, capture_output=True, check=True)
    made = hm("fleet", "csr", "--devices", "devices.csv", "--out", "OUT", "--key-type", "ec-p256", "--ca-cert",
              "extca.pem", "--json", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["requested"] == 5
    assert {d["state"] for d in manifest(tmp_path / "OUT")["devices"]} == {"requested"}
    signed = tmp_path / "signed"
    signed.mkdir()
    (tmp_path / "ext.cnf").write_text("[v3]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                      "extendedKeyUsage=clientAuth\n")
    for i in range(5):
        request = tmp_path / "OUT" / f"ext-{i}" / "request.csr"
        text = subprocess.run([OPENSSL, "req", "-in", str(request), "-noout", "-text", "-verify"],
                              capture_output=True, text=True, check=True)
        assert "CN = ext-" in text.stdout
        assert "TLS Web Client Authentication" in text.stdout
        # File names unrelated to the devices, one of them DER: matched by public key.
        form = ["-outform", "DER"] if i == 2 else []
        subprocess.run([OPENSSL, "x509", "-req", "-in", str(request), "-CA", "extca.pem", "-CAkey", "extca.key",
                        "-CAcreateserial", "-days", "30", "-sha256", "-extfile", "ext.cnf", "-extensions", "v3",
                        "-out", str(signed / f"signed-{4 - i}.crt"), *form],
                       cwd=tmp_path, capture_output=True, check=True)
    shutil.copy(tmp_path / "extca.pem", signed / "chain-ca.pem")  # a CA in the folder is ignored
    done = hm("fleet", "import-certs", "--out", "OUT", "--certs", "signed", "--ca-cert", "extca.pem", "--json",
              cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["issued"] == 5
    data = manifest(tmp_path / "OUT")
    assert {d["state"] for d in data["devices"]} == {"issued"}
    assert data["auth"] == "ca"
    for entry in data["devices"]:
        folder = tmp_path / "OUT" / entry["folder"]
        assert check_credentials(folder, device_id=entry["device_id"]).usable_reason is None
        verify = subprocess.run([OPENSSL, "verify", "-CAfile", "extca.pem", str(folder / CLIENT_CERT)],
                                cwd=tmp_path, capture_output=True, text=True, check=False)
        assert verify.returncode == 0, verify.stdout
        result = real_mbedtls.check_pair((folder / CLIENT_CERT).read_bytes(), (folder / PRIVATE_KEY).read_bytes(),
                                         (folder / PASS_FILE).read_bytes() or None)
        assert result.ok
    assert "az iot hub certificate create" in (tmp_path / "OUT" / "azure.sh").read_text()
    again = hm("fleet", "import-certs", "--out", "OUT", "--certs", "signed", "--json", cwd=tmp_path)
    assert again.returncode == 2
    assert "belongs to no device" in json.loads(again.stdout)["error"]["message"]


@needs_openssl
def test_import_refuses_foreign_key_and_foreign_ca_and_writes_nothing(tmp_path: Path) -> None:
    write_csv(tmp_path / "devices.csv", [("dev-a", ""), ("dev-b", "")])
    assert hm("fleet", "csr", "--devices", "devices.csv", "--out", "OUT", "--key-type", "ec-p256",
              cwd=tmp_path).returncode == 0
    for name in ("good", "other"):
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN={name} CA", "-days", "5",
                        "-addext", "basicConstraints=critical,CA:TRUE"], cwd=tmp_path, capture_output=True, check=True)
    (tmp_path / "ext.cnf").write_text("[v3]\nextendedKeyUsage=clientAuth\n")
    signed = tmp_path / "signed"
    signed.mkdir()
    # dev-a signed by the other CA; a stray certificate for a key no device has.
    subprocess.run([OPENSSL, "x509", "-req", "-in", "OUT/dev-a/request.csr", "-CA", "other.pem", "-CAkey",
                    "other.key", "-CAcreateserial", "-days", "5", "-extfile", "ext.cnf", "-extensions", "v3",
                    "-out", "signed/a.pem"], cwd=tmp_path, capture_output=True, check=True)
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", "stray.key", "-out", "signed/stray.pem", "-subj", "/CN=dev-b", "-days", "5",
                    "-addext", "basicConstraints=critical,CA:FALSE"],
                   cwd=tmp_path, capture_output=True, check=True)
    before = tree_snapshot(tmp_path / "OUT")
    done = hm("fleet", "import-certs", "--out", "OUT", "--certs", "signed", "--ca-cert", "good.pem", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not signed by the CA given with --ca-cert" in done.stderr
    assert "stray.pem: belongs to no device's key" in done.stderr
    assert "Traceback" not in done.stderr
    assert tree_snapshot(tmp_path / "OUT") == before
    # A certificate with the wrong CN for the key it certifies.
    shutil.rmtree(signed)
    signed.mkdir()
    subprocess.run([OPENSSL, "x509", "-req", "-in", "OUT/dev-b/request.csr", "-CA", "good.pem", "-CAkey", "good.key",
                    "-CAcreateserial", "-days", "5", "-extfile", "ext.cnf", "-extensions", "v3", "-subj", "/CN=dev-a",
                    "-out", "signed/b.pem"], cwd=tmp_path, capture_output=True, check=False)
    if (signed / "b.pem").exists():  # OpenSSL < 3 has no -subj for x509 -req; the case is covered then by CN checks
        done = hm("fleet", "import-certs", "--out", "OUT", "--certs", "signed", cwd=tmp_path)
        assert done.returncode == 2
        assert "not the device id 'dev-b'" in done.stderr
        assert tree_snapshot(tmp_path / "OUT") == before


# --- bad inputs: exit 2, a clear message, nothing written -----------------------------------------------------

@pytest.fixture(name="ca_dir")
def _ca_dir(tmp_path: Path) -> Path:
    init_ca(tmp_path / "CA", passphrase=PASSPHRASE.encode(), key_type="ec-p256")
    return tmp_path / "CA"


@pytest.mark.parametrize(("content", "message"), [
    ("serial_number\nA1\n", "no device_id column"),
    ("device_id\n\n", "has a header but no devices"),
    ("device_id,serial_number\n,ABC\n", "device id '' is empty"),
    ("device_id\ndev-1\ndev-2\nDEV-1\n", "line 4: device id 'DEV-1' is already on line 2"),
    ("device_id\nbad/id\n", "which Azure IoT Hub does not allow"),
    ("device_id\nbad id\n", "which Azure IoT Hub does not allow"),
    (f"device_id\n{'x' * 65}\n", "at most 64 characters"),
    ("device_id,serial_number\na,S1\nb,s1\n", "serial number s1 is already on line 2"),
    ("device_id,serial_number\na,S 1\n", "is not a board serial"),
    ("", "no device_id column"),
])
def test_bad_device_list_exits_2_and_writes_nothing(tmp_path: Path, ca_dir: Path, content: str,
                                                    message: str) -> None:
    (tmp_path / "devices.csv").write_text(content)
    done = hm("fleet", "issue", "--ca", "CA", "--devices", "devices.csv", "--out", "OUT", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "devices.csv" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "OUT").exists()


def test_ca_problems_exit_2(tmp_path: Path, ca_dir: Path) -> None:
    write_csv(tmp_path / "devices.csv", [("dev-1", "")])
    args = ("fleet", "issue", "--ca", "CA", "--devices", "devices.csv", "--out", "OUT")
    no_pass = hm(*args, cwd=tmp_path, env={"HATCH_MEADOW_CA_PASSPHRASE": ""})
    assert no_pass.returncode == 2
    assert "CA passphrase is empty" in no_pass.stderr
    env = {k: v for k, v in os.environ.items() if k != "HATCH_MEADOW_CA_PASSPHRASE"}
    unset = subprocess.run([sys.executable, "-m", "hatch_meadow", *args], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=False)
    assert unset.returncode == 2
    assert "encrypted and no passphrase was given" in unset.stderr
    wrong = hm(*args, cwd=tmp_path, env={"HATCH_MEADOW_CA_PASSPHRASE": "not-the-passphrase"})
    assert wrong.returncode == 2
    assert "passphrase is wrong" in wrong.stderr
    (tmp_path / "pass.txt").write_text(PASSPHRASE + "\n")
    by_file = hm(*args, "--passphrase-file", "pass.txt", cwd=tmp_path, env={"HATCH_MEADOW_CA_PASSPHRASE": "x" * 9})
    assert by_file.returncode == 0, by_file.stderr  # the file wins over the variable, its newline is not part of it
    # A key of another CA beside this certificate.
    init_ca(tmp_path / "OTHER", passphrase=PASSPHRASE.encode())
    shutil.copy(tmp_path / "OTHER" / "ca_key.pem", ca_dir / "ca_key.pem")
    mismatch = hm(*args, cwd=tmp_path)
    assert mismatch.returncode == 2
    assert "does not belong to" in mismatch.stderr
    for done in (no_pass, unset, wrong, mismatch):
        assert "Traceback" not in done.stderr
        assert PASSPHRASE not in done.stderr + done.stdout


def test_expired_ca_is_refused(tmp_path: Path) -> None:
    old = datetime.now(timezone.utc) - timedelta(days=40)
    init_ca(tmp_path / "CA", passphrase=PASSPHRASE.encode(), days=30, now=old)
    write_csv(tmp_path / "devices.csv", [("dev-1", "")])
    done = hm("fleet", "issue", "--ca", "CA", "--devices", "devices.csv", "--out", "OUT", cwd=tmp_path)
    assert done.returncode == 2
    assert "the CA certificate expired" in done.stderr
    assert not (tmp_path / "OUT").exists()


def test_init_ca_never_takes_the_passphrase_from_argv_and_never_overwrites(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HATCH_MEADOW_CA_PASSPHRASE"}
    done = subprocess.run([sys.executable, "-m", "hatch_meadow", "fleet", "init-ca", "--dir", "CA"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "needs a passphrase" in done.stderr
    assert not (tmp_path / "CA").exists()
    assert hm("fleet", "init-ca", "--dir", "CA", cwd=tmp_path).returncode == 0
    before = tree_snapshot(tmp_path / "CA")
    again = hm("fleet", "init-ca", "--dir", "CA", cwd=tmp_path)
    assert again.returncode == 2
    assert "refusing to overwrite a CA" in again.stderr
    assert tree_snapshot(tmp_path / "CA") == before
    short = hm("fleet", "init-ca", "--dir", "CA2", cwd=tmp_path, env={"HATCH_MEADOW_CA_PASSPHRASE": "short"})
    assert short.returncode == 2
    assert "shorter than 8 bytes" in short.stderr


def test_load_ca_refuses_a_non_ca_certificate(tmp_path: Path) -> None:
    from hatch_meadow.creds.generate import generate_credentials
    from hatch_meadow.errors import InputError

    generate_credentials(tmp_path / "dev", device_id="not-a-ca", key_encryption="none")
    (tmp_path / "CA").mkdir()
    shutil.copy(tmp_path / "dev" / CLIENT_CERT, tmp_path / "CA" / "ca_cert.pem")
    shutil.copy(tmp_path / "dev" / PRIVATE_KEY, tmp_path / "CA" / "ca_key.pem")
    with pytest.raises(InputError, match="not a CA certificate"):
        load_ca(tmp_path / "CA", None)


# --- existing folders: kept, refused, re-issued --------------------------------------------------------------

def _issue(ca_dir: Path, tmp_path: Path, rows: list[tuple[str, str]], **options: object):  # type: ignore[no-untyped-def]
    write_csv(tmp_path / "devices.csv", rows)
    ca = load_ca(ca_dir, PASSPHRASE.encode())
    return issue_fleet(ca, read_devices(tmp_path / "devices.csv"), tmp_path / "OUT",
                       IssueOptions(key_type="ec-p256", **options), auth="ca")  # type: ignore[arg-type]


def test_damaged_folder_is_reported_not_replaced_until_force(tmp_path: Path, ca_dir: Path) -> None:
    _issue(ca_dir, tmp_path, [("dev-1", ""), ("dev-2", "")])
    (tmp_path / "OUT" / "dev-2" / PASS_FILE).write_bytes(b"wrong-passphrase")
    damaged = tree_snapshot(tmp_path / "OUT" / "dev-2")
    summary = _issue(ca_dir, tmp_path, [("dev-1", ""), ("dev-2", "")])
    assert (summary.kept, summary.failed) == (1, 1)
    assert "--force re-issues it" in (summary.failures[0].problem or "")
    assert tree_snapshot(tmp_path / "OUT" / "dev-2") == damaged
    states = {d["device_id"]: d["state"] for d in manifest(tmp_path / "OUT")["devices"]}
    assert states == {"dev-1": "kept", "dev-2": "failed"}
    forced = _issue(ca_dir, tmp_path, [("dev-1", ""), ("dev-2", "")], force=True)
    assert (forced.issued, forced.failed) == (2, 0)
    assert check_credentials(tmp_path / "OUT" / "dev-2", device_id="dev-2").usable_reason is None
    assert not [p for p in (tmp_path / "OUT").iterdir() if p.name.startswith(".")]


def test_folder_signed_by_another_ca_is_not_kept(tmp_path: Path, ca_dir: Path) -> None:
    from hatch_meadow.creds.generate import generate_credentials

    generate_credentials(tmp_path / "OUT" / "dev-1", device_id="dev-1")  # self-signed, passes check
    summary = _issue(ca_dir, tmp_path, [("dev-1", "")])
    assert summary.failed == 1
    assert "not signed by this CA" in (summary.failures[0].problem or "")


def test_cli_exit_1_lists_failed_devices(tmp_path: Path, ca_dir: Path) -> None:
    _issue(ca_dir, tmp_path, [("dev-1", "")])
    (tmp_path / "OUT" / "dev-1" / CLIENT_CERT).write_text("not a certificate")
    done = hm("fleet", "issue", "--ca", "CA", "--devices", "devices.csv", "--out", "OUT", cwd=tmp_path)
    assert done.returncode == 1
    assert "failed  dev-1:" in done.stderr
    assert "Traceback" not in done.stderr


def test_odd_device_ids_get_safe_reversible_folders(tmp_path: Path, ca_dir: Path) -> None:
    ids = ["..", ".hidden", "a%b", "c*d?e:f", "x#y", "plain-1"]
    assert [folder_name(i) for i in ids] == ["%2E.", "%2Ehidden", "a%25b", "c%2Ad%3Fe%3Af", "x%23y", "plain-1"]
    write_csv(tmp_path / "devices.csv", [(i, "") for i in ids])
    summary = _issue(ca_dir, tmp_path, [(i, "") for i in ids])
    assert summary.issued == len(ids)
    names = sorted(p.name for p in (tmp_path / "OUT").iterdir() if p.is_dir())
    assert names == sorted(folder_name(i) for i in ids)
    assert not (tmp_path / "devices").exists()
    assert (tmp_path / "OUT" / "%2E.").is_dir()
    for entry in manifest(tmp_path / "OUT")["devices"]:
        report = check_credentials(tmp_path / "OUT" / entry["folder"], device_id=entry["device_id"])
        assert report.usable_reason is None
        assert report.certificate is not None
        assert report.certificate.subject_cn == entry["device_id"]


def test_deploy_records_survive_a_rerun(tmp_path: Path, ca_dir: Path) -> None:
    _issue(ca_dir, tmp_path, [("dev-1", ""), ("dev-2", "")])
    data = manifest(tmp_path / "OUT")
    data["devices"][0].update(deployed_to="C403CB1F2655", deployed_at="2026-12-03T10:00:00+00:00")
    (tmp_path / "OUT" / "manifest.json").write_text(json.dumps(data))
    _issue(ca_dir, tmp_path, [("dev-1", ""), ("dev-2", "")])
    again = manifest(tmp_path / "OUT")["devices"]
    assert again[0]["deployed_to"] == "C403CB1F2655"
    assert again[1]["deployed_to"] is None


# --- crash safety: SIGKILL mid-run, then run again -----------------------------------------------------------

KILL_ROUNDS = 6


def test_killed_runs_resume_to_a_complete_manifest(tmp_path: Path, ca_dir: Path) -> None:
    """Each round kills `fleet issue` at a different moment; the final run lists every device exactly once,
    every folder is whole and passes check, and no hidden leftovers remain."""
    count = 60
    write_csv(tmp_path / "devices.csv", [(f"k-{i:03d}", "") for i in range(count)])
    args = [sys.executable, "-m", "hatch_meadow", "fleet", "issue", "--ca", "CA", "--devices", "devices.csv",
            "--out", "OUT", "--key-type", "rsa-2048", "--jobs", "1"]
    env = {**os.environ, "HATCH_MEADOW_CA_PASSPHRASE": PASSPHRASE}
    progress = []
    for round_ in range(KILL_ROUNDS):
        process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.6 + 0.25 * round_)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for folder in (tmp_path / "OUT").iterdir() if (tmp_path / "OUT").exists() else []:
            if folder.is_dir() and not folder.name.startswith("."):  # every visible folder is whole
                assert sorted(p.name for p in folder.iterdir()) == sorted([CLIENT_CERT, PRIVATE_KEY, PASS_FILE])
        out = tmp_path / "OUT"
        progress.append(sum(1 for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")) if out.exists()
                        else 0)
    assert any(0 < n < count for n in progress), progress  # the kills landed mid-run
    final = hm("fleet", "issue", "--ca", "CA", "--devices", "devices.csv", "--out", "OUT", "--key-type", "rsa-2048",
               "--json", cwd=tmp_path, timeout=300)
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert summary["issued"] + summary["kept"] == count
    assert summary["failed"] == 0
    assert summary["kept"] == max(progress)
    devices = manifest(tmp_path / "OUT")["devices"]
    assert [d["device_id"] for d in devices] == [f"k-{i:03d}" for i in range(count)]
    for entry in devices:
        assert check_credentials(tmp_path / "OUT" / entry["folder"], device_id=entry["device_id"]).usable_reason is None
    assert not [p.name for p in (tmp_path / "OUT").iterdir() if p.name.startswith(".")]


def test_a_second_concurrent_run_is_refused(tmp_path: Path, ca_dir: Path) -> None:
    write_csv(tmp_path / "devices.csv", [(f"c-{i}", "") for i in range(40)])
    args = [sys.executable, "-m", "hatch_meadow", "fleet", "issue", "--ca", "CA", "--devices", "devices.csv",
            "--out", "OUT", "--key-type", "rsa-3072", "--jobs", "1"]
    env = {**os.environ, "HATCH_MEADOW_CA_PASSPHRASE": PASSPHRASE}
    first = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not ((tmp_path / "OUT").exists() and any((tmp_path / "OUT").iterdir())):
        time.sleep(0.05)
    second = hm("fleet", "issue", "--ca", "CA", "--devices", "devices.csv", "--out", "OUT", cwd=tmp_path)
    first.kill()
    first.communicate()
    assert second.returncode == 2, second.stdout + second.stderr
    assert "another hatch-meadow" in second.stderr
