"""The simulated board's app: after a boot with the runtime enabled and credentials in the secrets store it
"starts", prints ordinary output, then opens its TLS connection: the stored key and certificate are parsed
as the board parses them (real Mbed TLS through the python-mbedtls wheel's libraries when installed, else
this project's verdict engine) and the result is printed the way Meadow prints it: ``failed to parse private
key -4352`` (decimal), or the ready line. Everything goes out as the app's STDOUT/STDERR (spec §5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from hatch_meadow.names import CLIENT_CERT, PASS_FILE, PRIVATE_KEY
from hatch_meadow.protocol.codes import ResponseType

DEFAULT_READY_LINE: Final = "App: connected to the IoT hub with the client certificate"
#: The SSL module's fatal alert (-0x7780): what a server refusal looks like from the board.
SSL_FATAL_ALERT: Final = -0x7780


@dataclass(frozen=True, slots=True)
class AppModel:
    """How the simulated app behaves (times in seconds from the end of the boot)."""

    ready_line: str = DEFAULT_READY_LINE
    tls_after_s: float = 0.6
    chatter_every_s: float = 0.2
    chatter_after: int = 6  # ordinary lines after the TLS attempt (then the app goes quiet)


@dataclass(slots=True)
class AppRun:
    """One run of the app, from one boot: its lines, each due at a time."""

    lines: list[tuple[float, ResponseType, str]] = field(default_factory=list)

    def due(self, now: float) -> list[tuple[ResponseType, str]]:
        out = [(kind, text) for at, kind, text in self.lines if at <= now]
        self.lines = [line for line in self.lines if line[0] > now]
        return out

    def next_at(self) -> float | None:
        return min((at for at, _, _ in self.lines), default=None)


def start_app(model: AppModel, store: Mapping[str, bytes], booted_at: float) -> AppRun:
    """The app's output for the credentials in ``store`` (the ESP32 secrets store), timed from ``booted_at``."""
    stdout, stderr = ResponseType.TEXT_MONO_STDOUT, ResponseType.TEXT_MONO_STDERR
    run = AppRun()
    start = booted_at
    for index, text in enumerate(("App: starting (hatch-meadow simulated app)", "App: Wi-Fi connected, IP 10.0.0.23",
                                  "App: connecting to the IoT hub over TLS (port 8883)")):
        run.lines.append((start + index * model.chatter_every_s / 2, stdout, text))
    tls_at = start + model.tls_after_s
    failure = tls_failure(store)
    if failure is None:
        run.lines.append((tls_at, stdout, model.ready_line))
        follow = [f"App: telemetry sent ({n})" for n in range(1, model.chatter_after + 1)]
    else:
        run.lines.append((tls_at, stderr, failure))
        follow = [f"App: retrying in 30 s (attempt {n})" for n in range(1, model.chatter_after + 1)]
    for index, text in enumerate(follow, start=1):
        run.lines.append((tls_at + index * model.chatter_every_s, stdout, text))
    return run


def tls_failure(store: Mapping[str, bytes]) -> str | None:
    """Meadow's line for the stored set, or None when the TLS client authentication works."""
    key, cert, password = store.get(PRIVATE_KEY, b""), store.get(CLIENT_CERT, b""), store.get(PASS_FILE, b"")
    if not key or not cert:
        return None  # no client certificate configured: nothing to report
    key_code, cert_code, pair_ok = _parse(key, cert, password or None)
    if key_code:
        return f"failed to parse private key {key_code}"
    if cert_code:
        return f"failed to parse client certificate {cert_code}"
    if not pair_ok:
        return f"mbedtls_ssl_handshake returned {SSL_FATAL_ALERT}"  # no pair check on the board: the server refuses
    return None


def _parse(key: bytes, cert: bytes, password: bytes | None) -> tuple[int, int, bool]:
    """(key code, certificate code, key and certificate belong together), as the board's Mbed TLS says."""
    try:
        from hatch_meadow.mbedtls_oracle import MbedTLSUnavailable, load

        real = load()
    except (ImportError, MbedTLSUnavailable):
        return _predict(key, cert, password)
    key_code = real.parse_key(key, password).code
    cert_code = real.parse_cert(cert).code
    pair_ok = key_code == 0 and cert_code == 0 and real.check_pair(cert, key, password).ok
    return key_code, cert_code, pair_ok


def _predict(key: bytes, cert: bytes, password: bytes | None) -> tuple[int, int, bool]:
    from hatch_meadow.creds.certcheck import check_certificate
    from hatch_meadow.creds.keycheck import check_key
    from hatch_meadow.creds.mbedtls_errors import ERROR_CODES
    from hatch_meadow.creds.profiles import PROFILES
    from hatch_meadow.creds.validate import key_matches

    profile = PROFILES["meadow-f7"]
    key_verdict = check_key(key, password, profile)
    cert_verdict = check_certificate(cert, profile)
    key_code = 0 if key_verdict.accepted else (
        sum(ERROR_CODES.get(part, 0) for part in (key_verdict.error or "").split("+")) or -0x3D00)
    cert_code = 0 if cert_verdict.accepted else -0x2180
    pair_ok = key_verdict.key is not None and bool(cert_verdict.certificates) and key_matches(
        cert_verdict.certificates[0], key_verdict.key)
    return key_code, cert_code, pair_ok
