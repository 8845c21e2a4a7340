"""Pre-flight check against the real server (issue #12 `verify-tls`): a TLS 1.2 handshake presenting the device's
credentials, then optionally one MQTT CONNECT as Azure IoT Hub expects it.

IoT Hub completes the TLS handshake for any well-formed client certificate and refuses an unknown or unregistered
device only at CONNECT, so ``mqtt=True`` is what proves a registration. The key is decrypted with the pass file's
exact bytes, as the board does; the set is first checked as ``check`` would (an unusable set never goes out).

Verdicts: accepted; refused (the server or the client rejected the other's certificate, or CONNACK refused); a
network problem (unreachable, timeout, not TLS) is a :class:`~hatch_meadow.errors.NetworkError` (exit 3).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from hatch_meadow.errors import FindingsError, InputError, NetworkError
from hatch_meadow.mqtt import CONNACK_REASONS, DISCONNECT, azure_username, encode_connect, parse_connack
from hatch_meadow.names import CLIENT_CERT, PASS_FILE, PRIVATE_KEY

DEFAULT_PORT: Final = 8883
TIMEOUT_S: Final = 10.0


@dataclass
class TlsResult:
    """What happened, stage by stage (the ``verify-tls --json`` object)."""

    host: str
    port: int
    device_id: str | None
    stage: str = "tcp"  # how far it got: tcp, tls, mqtt, done
    accepted: bool = False
    reason: str | None = None  # why it was refused
    tls: dict[str, Any] = field(default_factory=dict)
    mqtt: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """schema_version 1."""
        return {"schema_version": 1, "ok": self.accepted, "host": self.host, "port": self.port,
                "device_id": self.device_id, "stage": self.stage, "reason": self.reason, "tls": self.tls,
                "mqtt": self.mqtt}


def verify_tls(directory: Path, host: str, port: int = DEFAULT_PORT, *, ca_file: Path | None = None,
               mqtt: bool = False, timeout: float = TIMEOUT_S) -> TlsResult:
    """Connect to ``host:port`` with the credentials in ``directory``; see the module docstring.

    Raises:
        FindingsError: the set is one the board could not use (nothing is sent).
        InputError: a missing or unreadable credential or CA file.
        NetworkError: the server cannot be reached or does not speak TLS.
    """
    device_id = _usable_device_id(directory)
    context = _context(directory, ca_file)
    result = TlsResult(host, port, device_id)
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise NetworkError(f"{host}:{port}: cannot connect ({exc.strerror or exc})",
                           hint="check the host name, the port (IoT Hub: 8883) and any firewall") from exc
    with raw:
        result.stage = "tls"
        try:
            conn = context.wrap_socket(raw, server_hostname=host)
        except ssl.SSLCertVerificationError as exc:
            result.reason = f"the server's certificate is not trusted: {exc.verify_message}; wrong --ca?"
            return result
        except ssl.SSLError as exc:
            return _handshake_refused(result, exc)
        except OSError as exc:
            raise NetworkError(f"{host}:{port}: the connection failed during the TLS handshake "
                               f"({exc.strerror or exc})", hint="is this a TLS port?") from exc
        with conn:
            result.tls = _session(conn)
            if not mqtt:
                result.stage, result.accepted = "done", True
                return result
            result.stage = "mqtt"
            _connect_mqtt(conn, result, timeout)
    return result


def _usable_device_id(directory: Path) -> str | None:
    from hatch_meadow.creds.thumbprint import load_thumbprint
    from hatch_meadow.creds.validate import check_credentials

    report = check_credentials(directory)
    if report.usable_reason is not None:
        raise FindingsError(f"{directory}: the board could not use these credentials ({report.usable_reason}), so "
                            "they were not presented to the server", hint=f"see `hatch-meadow check --dir {directory}`")
    return load_thumbprint(directory).device_id


def _context(directory: Path, ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2  # what the board's Mbed TLS speaks
    try:
        if ca_file is not None:
            context.load_verify_locations(cafile=str(ca_file))
        else:
            context.load_default_certs()
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"--ca {ca_file}: cannot load it as PEM CA certificates ({exc})",
                         hint="give the server's CA certificate (or chain) as a PEM file") from exc
    password = (directory / PASS_FILE).read_bytes() if (directory / PASS_FILE).is_file() else b""
    try:
        context.load_cert_chain(directory / CLIENT_CERT, directory / PRIVATE_KEY, password=password or None)
    except (OSError, ssl.SSLError) as exc:  # `check` passed, so this is a race with another writer or OpenSSL
        raise InputError(f"{directory}: OpenSSL could not load {CLIENT_CERT} and {PRIVATE_KEY} ({exc})",
                         hint=f"run `hatch-meadow check --dir {directory}`") from exc
    return context


def _handshake_refused(result: TlsResult, exc: ssl.SSLError) -> TlsResult:
    reason = exc.reason or str(exc)
    if "WRONG_VERSION_NUMBER" in reason or "RECORD_LAYER" in reason or "UNEXPECTED_EOF" in reason:
        raise NetworkError(f"{result.host}:{result.port}: the server does not speak TLS ({reason})",
                           hint="check the port: IoT Hub's MQTT over TLS is 8883") from exc
    result.reason = f"the server refused the handshake (alert: {_alert(exc)}); the certificate is not accepted there"
    return result


def _alert(exc: ssl.SSLError) -> str:
    """OpenSSL's reason for a received alert, as words: ``TLSV1_ALERT_UNKNOWN_CA`` → ``unknown ca``."""
    reason = exc.reason or str(exc)
    return reason.removeprefix("SSLV3_ALERT_").removeprefix("TLSV1_ALERT_").replace("_", " ").lower()


def _session(conn: ssl.SSLSocket) -> dict[str, Any]:
    peer = conn.getpeercert() or {}

    def name(key: str) -> str:
        parts: Any = peer.get(key, ())  # ((("commonName", "x"),), …)
        return ", ".join(f"{pair[0]}={pair[1]}" for rdn in parts for pair in rdn)

    cipher = conn.cipher()
    return {"version": conn.version(), "cipher": cipher[0] if cipher else None,
            "server_subject": name("subject"), "server_issuer": name("issuer")}


def _connect_mqtt(conn: ssl.SSLSocket, result: TlsResult, timeout: float) -> None:
    device = result.device_id or "device"
    conn.settimeout(timeout)
    try:
        conn.sendall(encode_connect(device, azure_username(result.host, device)))
        reply = _read_exactly(conn, 4)
    except ssl.SSLError as exc:  # TLS 1.3 servers report a refused certificate only now; 1.2 ones may too
        result.reason = f"the server refused the certificate after the handshake (alert: {_alert(exc)})"
        return
    except TimeoutError as exc:
        raise NetworkError(f"{result.host}:{result.port}: no CONNACK within {timeout:.0f} s",
                           hint="is this an MQTT port?") from exc
    except OSError as exc:
        raise NetworkError(f"{result.host}:{result.port}: the connection failed after CONNECT ({exc})") from exc
    if not reply:
        result.mqtt = {"return_code": None, "reason": "closed the connection without a CONNACK"}
        result.reason = "the server closed the connection at CONNECT (a refused device)"
        return
    try:
        code = parse_connack(reply)
    except ValueError as exc:
        raise NetworkError(f"{result.host}:{result.port}: {exc}", hint="is this an MQTT port?") from exc
    result.mqtt = {"return_code": code, "reason": CONNACK_REASONS.get(code, f"unknown return code {code}")}
    if code == 0:
        result.stage, result.accepted = "done", True
        with contextlib.suppress(OSError):
            conn.sendall(DISCONNECT)
    else:
        result.reason = f"CONNACK {code}: {result.mqtt['reason']}"


def _read_exactly(conn: ssl.SSLSocket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return data if data else b""
        data += chunk
    return data
