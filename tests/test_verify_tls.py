"""`hatch-meadow verify-tls` (issue #12 item 4) against a real broker: Debian's mosquitto, requiring a client
certificate (TLS 1.2), started and stopped here; negative controls with a foreign certificate, a wrong CA, a
CONNECT refused after a good handshake, a closed port and a server that does not speak TLS."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.mqtt import CONNACK_REASONS, azure_username, encode_connect, parse_connack

MOSQUITTO = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)
needs_mosquitto = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto not installed (.ci/run installs it)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Broker:
    port: int
    refusing_port: int
    ca: Path
    device: Path
    foreign: Path


def _server_pki(folder: Path) -> tuple[Path, Path, Path]:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hatch-meadow test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=10))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=10))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


def _start(conf: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    assert MOSQUITTO is not None
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {log.read_text()}") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"mosquitto did not listen on {port}: {log.read_text()}")


@pytest.fixture(name="broker", scope="module")
def _broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    folder = tmp_path_factory.mktemp("broker")
    ca, server_cert, server_key = _server_pki(folder)
    device, foreign = folder / "device", folder / "foreign"
    generate_credentials(device, device_id="dev-1", key_type="ec-p256")
    generate_credentials(foreign, device_id="dev-1", key_type="ec-p256")
    # The broker trusts exactly the device's (self-signed) certificate, as IoT Hub trusts a registered thumbprint.
    (folder / "clients.pem").write_bytes((device / "client_cert.pem").read_bytes())
    port, refusing_port = _free_port(), _free_port()
    # As root, mosquitto would drop to its own user, which cannot read pytest's 0700 folders.
    user = "user root\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    tls = user + (f"cafile {folder / 'clients.pem'}\ncertfile {server_cert}\nkeyfile {server_key}\n"
           "require_certificate true\ntls_version tlsv1.2\n")
    (folder / "ok.conf").write_text(f"listener {port} 127.0.0.1\n{tls}use_identity_as_username true\n")
    # A broker that completes the handshake and then refuses the CONNECT (like IoT Hub for an unknown device).
    (folder / "passwd").write_text("someone-else:$7$101$abc$def\n")
    (folder / "refusing.conf").write_text(f"listener {refusing_port} 127.0.0.1\n{tls}allow_anonymous false\n"
                                          f"password_file {folder / 'passwd'}\n")
    procs = [_start(folder / "ok.conf", port, folder / "ok.log"),
             _start(folder / "refusing.conf", refusing_port, folder / "refusing.log")]
    try:
        yield Broker(port, refusing_port, ca, device, foreign)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", "verify-tls", *args], capture_output=True, text=True,
                          timeout=120, check=False)


@needs_mosquitto
def test_good_credentials_pass_the_handshake_and_the_connect(broker: Broker) -> None:
    run = run_cli("--host", "localhost", "--port", str(broker.port), "--dir", str(broker.device), "--ca",
                  str(broker.ca), "--mqtt", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout)
    assert result["ok"] is True
    assert (result["stage"], result["device_id"], result["tls"]["version"]) == ("done", "dev-1", "TLSv1.2")
    assert result["mqtt"] == {"return_code": 0, "reason": "connection accepted"}
    passphrase = (broker.device / "private_key_pass.txt").read_text()
    assert passphrase not in run.stdout + run.stderr


@needs_mosquitto
def test_foreign_credentials_are_refused_with_the_alert(broker: Broker) -> None:
    run = run_cli("--host", "localhost", "--port", str(broker.port), "--dir", str(broker.foreign), "--ca",
                  str(broker.ca), "--mqtt")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "refused   localhost:" in run.stdout
    assert "alert: unknown ca" in run.stdout


@needs_mosquitto
def test_a_wrong_ca_is_a_refusal_of_the_server(broker: Broker) -> None:
    run = run_cli("--host", "localhost", "--port", str(broker.port), "--dir", str(broker.device), "--mqtt")
    assert run.returncode == 1
    assert "the server's certificate is not trusted" in run.stdout
    assert "wrong --ca?" in run.stdout


@needs_mosquitto
def test_a_connect_refused_after_a_good_handshake(broker: Broker) -> None:
    tls_only = run_cli("--host", "localhost", "--port", str(broker.refusing_port), "--dir", str(broker.device),
                       "--ca", str(broker.ca))
    assert tls_only.returncode == 0, tls_only.stdout + tls_only.stderr  # the handshake alone proves little…
    run = run_cli("--host", "localhost", "--port", str(broker.refusing_port), "--dir", str(broker.device), "--ca",
                  str(broker.ca), "--mqtt", "--json")
    assert run.returncode == 1, run.stdout + run.stderr  # …the CONNECT is where an unknown device is refused
    result = json.loads(run.stdout)
    assert result["stage"] == "mqtt"
    assert result["mqtt"]["return_code"] in (4, 5)


def test_a_closed_port_is_a_network_problem(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    run = run_cli("--host", "127.0.0.1", "--port", str(_free_port()), "--dir", str(tmp_path / "c"))
    assert run.returncode == 3
    assert "cannot connect" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_server_that_does_not_speak_tls(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def http() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

        thread = threading.Thread(target=http, daemon=True)
        thread.start()
        run = run_cli("--host", "127.0.0.1", "--port", str(listener.getsockname()[1]), "--dir", str(tmp_path / "c"))
    assert run.returncode == 3, run.stdout + run.stderr
    assert "does not speak TLS" in run.stderr


def test_an_unusable_set_is_never_sent(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="rsa-2048")
    (tmp_path / "c" / "private_key_pass.txt").write_text("wrong passphrase")
    run = run_cli("--host", "127.0.0.1", "--port", str(_free_port()), "--dir", str(tmp_path / "c"))
    assert run.returncode == 1
    assert "were not presented to the server" in run.stderr


def test_mqtt_packets() -> None:
    packet = encode_connect("dev-1", azure_username("hub.azure-devices.net", "dev-1"))
    assert packet[0] == 0x10
    assert packet[2:10] == b"\x00\x04MQTT\x04\x82"  # protocol level 4; user name + clean session
    assert packet.endswith(b"hub.azure-devices.net/dev-1/?api-version=2021-04-12")
    assert parse_connack(b"\x20\x02\x00\x05") == 5
    assert "not authorized" in CONNACK_REASONS[5]
    with pytest.raises(ValueError, match="not an MQTT CONNACK"):
        parse_connack(b"HTTP")
