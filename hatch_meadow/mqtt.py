"""The two MQTT 3.1.1 packets a pre-flight check needs (CONNECT and CONNACK, OASIS MQTT 3.1.1 §3.1-3.2). Pure.

A whole client library would own the socket and its loop; here the TLS handshake is done (and judged) first,
and then exactly one CONNECT is written and one CONNACK read on the same connection.
"""

from __future__ import annotations

from typing import Final

#: Azure IoT Hub's MQTT username for a device (its docs: "{iothubhostname}/{device_id}/?api-version=...").
AZURE_API_VERSION: Final = "2021-04-12"
CONNACK_REASONS: Final = {
    0: "connection accepted",
    1: "refused: unacceptable protocol version",
    2: "refused: identifier rejected (the client id / device id)",
    3: "refused: server unavailable",
    4: "refused: bad user name or password",
    5: "refused: not authorized (an unknown device, or a certificate not registered for it)",
}
DISCONNECT: Final = b"\xe0\x00"
_MAX_REMAINING: Final = 268_435_455


def azure_username(host: str, device_id: str) -> str:
    """The MQTT user name Azure IoT Hub expects from a device."""
    return f"{host}/{device_id}/?api-version={AZURE_API_VERSION}"


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ValueError("an MQTT string holds at most 65535 bytes")
    return len(data).to_bytes(2, "big") + data


def _remaining_length(size: int) -> bytes:
    if not 0 <= size <= _MAX_REMAINING:
        raise ValueError("MQTT packet too large")
    out = bytearray()
    while True:
        byte, size = size % 128, size // 128
        out.append(byte | (0x80 if size else 0))
        if not size:
            return bytes(out)


def encode_connect(client_id: str, username: str | None = None, *, keepalive_s: int = 60) -> bytes:
    """A CONNECT with clean session, the client id, and an optional user name (no password: X.509 auth)."""
    flags = 0x02 | (0x80 if username is not None else 0)
    variable = _string("MQTT") + bytes([4, flags]) + keepalive_s.to_bytes(2, "big")
    payload = _string(client_id) + (_string(username) if username is not None else b"")
    body = variable + payload
    return bytes([0x10]) + _remaining_length(len(body)) + body


def parse_connack(data: bytes) -> int:
    """The return code of a CONNACK (``data`` = its 4 bytes).

    Raises:
        ValueError: not a CONNACK.
    """
    if len(data) != 4 or data[0] != 0x20 or data[1] != 0x02:
        raise ValueError(f"not an MQTT CONNACK (got {data[:8].hex(' ') or 'nothing'})")
    return data[3]
