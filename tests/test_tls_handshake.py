"""Generated credentials authenticate in a real TLS 1.2 handshake with a server that requires a client certificate.

The primary client is real Mbed TLS 2.28 (python-mbedtls), loading the key with the pass file's exact bytes the
way Meadow does; `openssl s_client` and Python's ssl module are independent second and third clients. The server
is Python's ssl module on 127.0.0.1 that trusts exactly the generated self-signed client certificate.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hatch_meadow.cli import main as cli_main
from hatch_meadow.creds.generate import generate_credentials

KEY_TYPES = ("rsa-2048", "rsa-3072", "rsa-4096", "ec-p256", "ec-p384")
ENCRYPTIONS = ("aes-256", "des3", "none")
#: RSA-3072/4096 key generation dominates the run time; `-m "not slow"` leaves them out.
SLOW_KEY_TYPES = frozenset({"rsa-3072", "rsa-4096"})
TIMEOUT = 15.0  # seconds, for every socket, thread join and subprocess
SERVER_NAME = "localhost"
PING, PONG = b"ping", b"pong"


def _combo(key_type: str, encryption: str) -> Any:
    marks = [pytest.mark.slow] if key_type in SLOW_KEY_TYPES else []
    return pytest.param(key_type, encryption, id=f"{key_type}-{encryption}", marks=marks)


COMBOS = [_combo(k, e) for k in KEY_TYPES for e in ENCRYPTIONS]
ENCRYPTED_COMBOS = [_combo(k, e) for k in KEY_TYPES for e in ENCRYPTIONS if e != "none"]


@dataclass(frozen=True)
class Credentials:
    """One generated set, read back from disk, with the thumbprints generate and `thumbprint --json` report."""

    directory: Path
    device_id: str
    key_type: str
    cert_pem: bytes
    key_pem: bytes
    passphrase: bytes
    generate_sha256: str
    thumbprint_sha256: str

    @property
    def cert_path(self) -> Path:
        return self.directory / "client_cert.pem"

    @property
    def key_path(self) -> Path:
        return self.directory / "private_key.pem"

    @property
    def pass_path(self) -> Path:
        return self.directory / "private_key_pass.txt"


@dataclass(frozen=True)
class ServerIdentity:
    """A throwaway self-signed server certificate (CN and SAN localhost / 127.0.0.1) and its key."""

    cert_path: Path
    key_path: Path


@dataclass
class ServerOutcome:
    """What the one-shot server saw: the client's DER certificate after the handshake, or the error."""

    peer_der: bytes | None = None
    request: bytes | None = None
    error: OSError | None = None


@dataclass(frozen=True)
class MbedTLS:
    """The python-mbedtls modules (skipped when the package is missing)."""

    tls: ModuleType
    pk: ModuleType
    x509: ModuleType
    TLSError: type[Exception]


def _thumbprint_json(directory: Path) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(["thumbprint", "--dir", str(directory), "--json"])
    assert code == 0, out.getvalue()
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


@pytest.fixture(name="credentials", scope="module")
def _credentials(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Credentials]:
    """Generate each key type x encryption once per module, on first use."""
    root = tmp_path_factory.mktemp("creds")
    made: dict[tuple[str, str], Credentials] = {}

    def get(key_type: str, encryption: str) -> Credentials:
        if (key_type, encryption) not in made:
            directory = root / f"{key_type}-{encryption}"
            device_id = f"meadow-{key_type}-{encryption}"
            result = generate_credentials(directory, device_id=device_id, key_type=key_type,
                                          key_encryption=encryption)
            made[key_type, encryption] = Credentials(
                directory=directory, device_id=device_id, key_type=key_type,
                cert_pem=(directory / "client_cert.pem").read_bytes(),
                key_pem=(directory / "private_key.pem").read_bytes(),
                passphrase=(directory / "private_key_pass.txt").read_bytes(),
                generate_sha256=result.sha256,
                thumbprint_sha256=_thumbprint_json(directory)["sha256"],
            )
        return made[key_type, encryption]

    return get


def _other_encryption(encryption: str) -> str:
    return ENCRYPTIONS[(ENCRYPTIONS.index(encryption) + 1) % len(ENCRYPTIONS)]


@pytest.fixture(name="server_identity", scope="module")
def _server_identity(tmp_path_factory: pytest.TempPathFactory) -> ServerIdentity:
    """A self-signed EC P-256 server certificate made with cryptography."""
    directory = tmp_path_factory.mktemp("server")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(SERVER_NAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    identity = ServerIdentity(directory / "server_cert.pem", directory / "server_key.pem")
    identity.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    identity.key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return identity


@pytest.fixture(name="mbedtls", scope="module")
def _mbedtls() -> MbedTLS:
    """Real Mbed TLS 2.28.8 through python-mbedtls."""
    pytest.importorskip("mbedtls")
    from mbedtls import exceptions, pk, tls, version
    from mbedtls import x509 as mbedtls_x509

    assert version.version == "Mbed TLS 2.28.8"
    return MbedTLS(tls=tls, pk=pk, x509=mbedtls_x509, TLSError=exceptions.TLSError)


def _serve_once(listener: socket.socket, context: ssl.SSLContext, outcome: ServerOutcome) -> None:
    try:
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        with context.wrap_socket(conn, server_side=True) as tls_conn:
            outcome.peer_der = tls_conn.getpeercert(binary_form=True)
            outcome.request = tls_conn.recv(len(PING))
            if outcome.request == PING:
                tls_conn.sendall(PONG)
    except OSError as exc:  # ssl.SSLError and TimeoutError included
        outcome.error = exc


@contextlib.contextmanager
def one_shot_server(identity: ServerIdentity, trusted_cert: Path) -> Iterator[tuple[tuple[str, int], ServerOutcome]]:
    """A TLS 1.2 server on 127.0.0.1 for one connection, requiring a client certificate issued by ``trusted_cert``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=trusted_cert)
    context.load_cert_chain(identity.cert_path, identity.key_path)
    outcome = ServerOutcome()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        address = listener.getsockname()[:2]
        thread = threading.Thread(target=_serve_once, args=(listener, context, outcome), daemon=True)
        thread.start()
        try:
            yield address, outcome
        finally:
            if outcome.peer_der is None and outcome.error is None:
                # The client may have given up before connecting; wake accept() instead of waiting it out.
                with contextlib.suppress(OSError), socket.create_connection(address, timeout=TIMEOUT):
                    pass
            thread.join(TIMEOUT)
    assert not thread.is_alive(), "the server thread did not finish"


class StrictSocket(socket.socket):
    """A TCP socket whose recv raises at end of stream, so Mbed TLS's WantRead loop cannot spin on b""."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        if not data:
            raise ConnectionAbortedError("the server closed the connection")
        return data


def strict_connection(address: tuple[str, int]) -> StrictSocket:
    """A connected StrictSocket with the test timeout."""
    sock = StrictSocket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


def load_mbedtls_key(mbedtls: MbedTLS, creds: Credentials, password: bytes | None) -> Any:
    """The private key as Meadow loads it: the PEM bytes and the pass file's exact bytes (None when empty)."""
    key_class = mbedtls.pk.RSA if creds.key_type.startswith("rsa-") else mbedtls.pk.ECC
    return key_class.from_buffer(creds.key_pem, password)


def mbedtls_exchange(mbedtls: MbedTLS, address: tuple[str, int], identity: ServerIdentity, cert_pem: bytes,
                     key: Any) -> bytes:
    """Handshake as an Mbed TLS TLS 1.2 client presenting ``cert_pem`` + ``key``, send PING, return the reply."""
    tls = mbedtls.tls
    configuration = tls.TLSConfiguration(
        certificate_chain=((mbedtls.x509.CRT.from_PEM(cert_pem.decode("ascii")),), key),
        validate_certificates=True,
        trust_store=tls.TrustStore([mbedtls.x509.CRT.from_file(identity.cert_path)]),
        lowest_supported_version=tls.TLSVersion.TLSv1_2,
        highest_supported_version=tls.TLSVersion.TLSv1_2,
    )
    with strict_connection(address) as raw, \
            tls.ClientContext(configuration).wrap_socket(raw, server_hostname=SERVER_NAME) as conn:
        conn.do_handshake()  # feeds the socket to Mbed TLS on WantRead / WantWrite until HANDSHAKE_OVER
        assert conn.negotiated_tls_version() is tls.TLSVersion.TLSv1_2
        conn.sendall(PING)
        reply = b""
        while len(reply) < len(PONG):
            try:
                chunk = conn.recv(4096)
            except tls.WantReadError:  # a partial record: read more from the socket
                continue
            if not chunk:  # close_notify
                break
            reply += chunk
        return reply


def handshake_failure(mbedtls: MbedTLS) -> tuple[type[Exception], ...]:
    """How a rejected Mbed TLS client fails: the server's fatal alert (TLSError 0x7780), or a reset / closed
    connection when the server hangs up while the client is still writing its last flight."""
    return mbedtls.TLSError, ConnectionError


def openssl_s_client(address: tuple[str, int], identity: ServerIdentity,
                     creds: Credentials) -> subprocess.CompletedProcess[str]:
    """`openssl s_client -tls1_2` presenting the generated files (the pass file only for an encrypted key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl CLI is not installed")
    args = [openssl, "s_client", "-connect", f"{address[0]}:{address[1]}", "-tls1_2", "-brief",
            "-servername", SERVER_NAME, "-verify_hostname", SERVER_NAME, "-verify_return_error",
            "-CAfile", str(identity.cert_path), "-cert", str(creds.cert_path), "-key", str(creds.key_path)]
    if creds.passphrase:
        args += ["-pass", f"file:{creds.pass_path}"]
    return subprocess.run(args, input="", capture_output=True, text=True, timeout=TIMEOUT, check=False)


def python_client_context(identity: ServerIdentity, creds: Credentials, key_path: Path) -> ssl.SSLContext:
    """A Python ssl TLS 1.2 client context presenting the generated certificate with ``key_path``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=identity.cert_path)
    context.load_cert_chain(creds.cert_path, key_path, password=creds.passphrase or None)
    return context


def assert_server_saw(outcome: ServerOutcome, creds: Credentials) -> None:
    """The server completed the handshake with exactly this client certificate (CN and SHA-256)."""
    assert outcome.error is None
    assert outcome.peer_der is not None
    seen = x509.load_der_x509_certificate(outcome.peer_der)
    assert [a.value for a in seen.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [creds.device_id]
    sha256 = hashlib.sha256(outcome.peer_der).hexdigest().upper()
    assert (sha256, sha256) == (creds.generate_sha256, creds.thumbprint_sha256)


X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18


def assert_server_rejected(outcome: ServerOutcome, reason: str) -> None:
    """The server accepted no client certificate and failed the handshake with the SSL error ``reason``."""
    assert outcome.peer_der is None
    assert isinstance(outcome.error, ssl.SSLError)
    assert outcome.error.reason == reason


def assert_server_distrusts(outcome: ServerOutcome) -> None:
    """The server failed the handshake because the client's self-signed certificate is not the trusted one."""
    assert_server_rejected(outcome, "CERTIFICATE_VERIFY_FAILED")
    assert isinstance(outcome.error, ssl.SSLCertVerificationError)
    assert outcome.error.verify_code == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT


# --- Mbed TLS (the client Meadow actually runs) -------------------------------------------------------------


@pytest.mark.parametrize(("key_type", "encryption"), COMBOS)
def test_mbedtls_client_authenticates_with_generated_credentials(
    key_type: str, encryption: str, credentials: Callable[[str, str], Credentials],
    server_identity: ServerIdentity, mbedtls: MbedTLS,
) -> None:
    """Mbed TLS loads the key with the pass file's bytes and the server accepts the CN = device-id certificate."""
    creds = credentials(key_type, encryption)
    key = load_mbedtls_key(mbedtls, creds, creds.passphrase or None)
    with one_shot_server(server_identity, creds.cert_path) as (address, outcome):
        reply = mbedtls_exchange(mbedtls, address, server_identity, creds.cert_pem, key)
    assert reply == PONG
    assert outcome.request == PING
    assert_server_saw(outcome, creds)


@pytest.mark.parametrize(("key_type", "encryption"), COMBOS)
def test_mbedtls_key_matches_certificate_public_key(
    key_type: str, encryption: str, credentials: Callable[[str, str], Credentials], mbedtls: MbedTLS,
) -> None:
    """The public half of the key Mbed TLS loads equals the certificate's subject public key."""
    creds = credentials(key_type, encryption)
    key = load_mbedtls_key(mbedtls, creds, creds.passphrase or None)
    cert = mbedtls.x509.CRT.from_PEM(creds.cert_pem.decode("ascii"))
    assert key.export_public_key() == cert.subject_public_key.export_public_key()


@pytest.mark.parametrize(("key_type", "encryption"), COMBOS)
def test_mbedtls_client_untrusted_certificate_rejected(
    key_type: str, encryption: str, credentials: Callable[[str, str], Credentials],
    server_identity: ServerIdentity, mbedtls: MbedTLS,
) -> None:
    """A valid set the server does not trust (another generated certificate) fails the handshake."""
    trusted = credentials(key_type, encryption)
    stranger = credentials(key_type, _other_encryption(encryption))
    key = load_mbedtls_key(mbedtls, stranger, stranger.passphrase or None)
    with one_shot_server(server_identity, trusted.cert_path) as (address, outcome), \
            pytest.raises(handshake_failure(mbedtls)):
        mbedtls_exchange(mbedtls, address, server_identity, stranger.cert_pem, key)
    assert_server_distrusts(outcome)


@pytest.mark.parametrize(("key_type", "encryption"), COMBOS)
def test_mbedtls_client_key_from_other_set_rejected(
    key_type: str, encryption: str, credentials: Callable[[str, str], Credentials],
    server_identity: ServerIdentity, mbedtls: MbedTLS,
) -> None:
    """The right certificate with another set's key of the same type fails the handshake (bad CertificateVerify)."""
    creds = credentials(key_type, encryption)
    other = credentials(key_type, _other_encryption(encryption))
    wrong_key = load_mbedtls_key(mbedtls, other, other.passphrase or None)
    with one_shot_server(server_identity, creds.cert_path) as (address, outcome), \
            pytest.raises(handshake_failure(mbedtls)):
        mbedtls_exchange(mbedtls, address, server_identity, creds.cert_pem, wrong_key)
    assert_server_rejected(outcome, "BAD_SIGNATURE")


@pytest.mark.parametrize("wrong", ["other", "newline", "truncated", "missing"])
@pytest.mark.parametrize(("key_type", "encryption"), ENCRYPTED_COMBOS)
def test_mbedtls_key_wrong_passphrase_fails_to_load(
    key_type: str, encryption: str, wrong: str, credentials: Callable[[str, str], Credentials], mbedtls: MbedTLS,
) -> None:
    """Anything but the pass file's exact bytes (another phrase, a trailing newline, one byte short, none) fails."""
    creds = credentials(key_type, encryption)
    password = {"other": b"not-the-passphrase", "newline": creds.passphrase + b"\n",
                "truncated": creds.passphrase[:-1], "missing": None}[wrong]
    # python-mbedtls reports every private-key failure as the public-key retry's error (spec §8.1).
    with pytest.raises(mbedtls.TLSError, match=r"\[0x3D62\]"):
        load_mbedtls_key(mbedtls, creds, password)


# --- Independent second clients: OpenSSL CLI and Python ssl ----------------------------------------------------


@pytest.mark.parametrize(("key_type", "encryption"), COMBOS)
def test_openssl_s_client_authenticates_with_generated_files(
    key_type: str, encryption: str, credentials: Callable[[str, str], Credentials],
    server_identity: ServerIdentity,
) -> None:
    """`openssl s_client -tls1_2 -cert -key -pass file:` completes the handshake and the server sees the cert."""
    creds = credentials(key_type, encryption)
    with one_shot_server(server_identity, creds.cert_path) as (address, outcome):
        proc = openssl_s_client(address, server_identity, creds)
    assert proc.returncode == 0, proc.stderr
    assert "Protocol version: TLSv1.2" in proc.stderr
    assert "Verification: OK" in proc.stderr
    assert_server_saw(outcome, creds)


@pytest.mark.parametrize(("key_type", "encryption"), COMBOS)
def test_python_ssl_client_authenticates_with_generated_files(
    key_type: str, encryption: str, credentials: Callable[[str, str], Credentials],
    server_identity: ServerIdentity,
) -> None:
    """Python ssl with load_cert_chain(password=pass-file bytes) completes the handshake; the server sees the cert."""
    creds = credentials(key_type, encryption)
    context = python_client_context(server_identity, creds, creds.key_path)
    with one_shot_server(server_identity, creds.cert_path) as (address, outcome), \
            socket.create_connection(address, timeout=TIMEOUT) as raw, \
            context.wrap_socket(raw, server_hostname=SERVER_NAME) as conn:
        assert conn.version() == "TLSv1.2"
        conn.sendall(PING)
        assert conn.recv(len(PONG)) == PONG
    assert_server_saw(outcome, creds)


@pytest.mark.parametrize(("key_type", "encryption"), COMBOS)
def test_openssl_s_client_untrusted_certificate_rejected(
    key_type: str, encryption: str, credentials: Callable[[str, str], Credentials],
    server_identity: ServerIdentity,
) -> None:
    """OpenSSL presenting a set the server does not trust fails, and the server reports the verify failure."""
    trusted = credentials(key_type, encryption)
    stranger = credentials(key_type, _other_encryption(encryption))
    with one_shot_server(server_identity, trusted.cert_path) as (address, outcome):
        proc = openssl_s_client(address, server_identity, stranger)
    assert proc.returncode == 1, proc.stderr
    assert_server_distrusts(outcome)


@pytest.mark.parametrize(("key_type", "encryption"), COMBOS)
def test_python_ssl_key_from_other_set_fails_to_load(
    key_type: str, encryption: str, credentials: Callable[[str, str], Credentials],
    server_identity: ServerIdentity,
) -> None:
    """OpenSSL (via Python ssl) refuses the certificate with another set's key: the key values mismatch."""
    creds = credentials(key_type, encryption)
    other = credentials(key_type, _other_encryption(encryption))
    mixed = replace(creds, passphrase=other.passphrase)
    with pytest.raises(ssl.SSLError, match="KEY_VALUES_MISMATCH"):
        python_client_context(server_identity, mixed, other.key_path)
