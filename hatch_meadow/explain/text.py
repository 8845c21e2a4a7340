"""Find Mbed TLS error codes and Meadow's TLS messages in a line of text (a board's console, a saved log)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from hatch_meadow.explain.table import MAX_MAGNITUDE

#: ``-0x3D62``, ``0x3d62`` (optionally negative), ``-15714``; numbers inside words, versions, times and
#: addresses are not codes.
HEX_CODE: Final = re.compile(r"(?<![\w.:/])(-?)0[xX]([0-9A-Fa-f]{1,4})(?![\w.:])")
NEGATIVE_DECIMAL: Final = re.compile(r"(?<![\w.:/-])-(\d{2,5})(?![\w.:])")
PLAIN_DECIMAL: Final = re.compile(r"(?<![\w.:/-])(\d{2,5})(?![\w.:])")


@dataclass(frozen=True, slots=True)
class Message:
    """A Meadow / Mbed TLS message recognised in a line, with what it means."""

    key: str
    meaning: str


MESSAGES: Final = (
    (re.compile(r"failed to parse (the )?(client )?private key", re.I), "private-key-parse",
     "the board's Mbed TLS could not parse private_key.pem with private_key_pass.txt (mbedtls_pk_parse_key)"),
    (re.compile(r"failed to parse (the )?(client )?cert(ificate)?", re.I), "certificate-parse",
     "the board's Mbed TLS could not parse client_cert.pem (mbedtls_x509_crt_parse)"),
    (re.compile(r"(mbedtls_)?ssl_handshake (returned|failed)|handshake failed|tls handshake", re.I), "handshake",
     "the TLS handshake with the server failed"),
    (re.compile(r"(key|keys) (do not|don't) match|pk_check_pair|key pair mismatch", re.I), "pair",
     "the private key and the certificate do not belong together"),
)


def parse_code(text: str) -> int | None:
    """``text`` as a whole error code (``-4352``, ``4352``, ``-0x1100``, ``0x3D62``), negative; None if it is
    not one (a non-number, zero, or outside Mbed TLS's 16-bit range)."""
    value = text.strip()
    match = re.fullmatch(r"([+-]?)(0[xX][0-9A-Fa-f]+|\d+)", value)
    if match is None:
        return None
    number = int(match.group(2), 16) if match.group(2)[:2].lower() == "0x" else int(match.group(2))
    if not 0 < number <= MAX_MAGNITUDE:
        return None
    return -number


def codes_in(line: str, *, message_seen: bool) -> list[int]:
    """Error codes in ``line``: hex anywhere, negative decimals anywhere; plain decimals only in a line that
    carries a known TLS message (``failed to parse private key 4352``)."""
    found: list[int] = []
    spans: list[tuple[int, int]] = []
    for match in HEX_CODE.finditer(line):
        number = int(match.group(2), 16)
        if 0 < number <= MAX_MAGNITUDE:
            found.append(-number)
            spans.append(match.span())
    patterns = [NEGATIVE_DECIMAL] + ([PLAIN_DECIMAL] if message_seen else [])
    for pattern in patterns:
        for match in pattern.finditer(line):
            if any(start <= match.start() < end for start, end in spans):
                continue
            number = int(match.group(1))
            if 0 < number <= MAX_MAGNITUDE and (number >= 0x80 or message_seen):  # "-67 dBm" is not a code
                found.append(-number)
                spans.append(match.span())
    return list(dict.fromkeys(found))


def messages_in(line: str) -> list[Message]:
    """The known TLS messages in ``line``."""
    return [Message(key, meaning) for pattern, key, meaning in MESSAGES if pattern.search(line)]
