"""Recognise a placeholder or instructions text where a credential should be.

The vendor's own sample app (Meadow.Samples ``TLS_Client_Authentication``) ships the three files as texts:
"Replace this file with your private key in .pem format (REQUIRED)", a PEM skeleton with ``...`` for a body,
a pass file full of instructions. Parsed as credentials they look like broken base64; they are not broken
keys, they are no keys at all, and deploying them overwrites the board's working set.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from hatch_meadow.names import PASS_FILE

INSTRUCTIONS_PATTERN: Final = (
    rb"replace (this|the) (file|contents)|your (own )?(private key|client certificate|certificate|key|passphrase)"
    rb"|\(required\)|\bput (the|your) |\bpaste\b|\binsert (the|your)\b|leave (it|the file|this file) empty"
    rb"|\bin \.pem format\b|\bopenssl (pkcs12|rsa|req|x509) ")
PEM_BLOCK: Final = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
BASE64_LINE: Final = re.compile(rb"[A-Za-z0-9+/=]{16,}")


@functools.cache
def _instructions() -> re.Pattern[bytes]:
    """Compiled on first need (~2 ms; a real credential set never needs it, and `check` is a short command)."""
    return re.compile(INSTRUCTIONS_PATTERN, re.I)


def placeholder_reason(name: str, data: bytes) -> str | None:
    """Why ``data`` (the content of credential file ``name``) is a placeholder rather than a credential, or
    None. An empty pass file is not one (it belongs to an unencrypted key)."""
    if name == PASS_FILE:
        return _pass_file_reason(data)
    if not data.strip():
        return None  # an empty file has its own finding (key-empty, cert-empty)
    if _has_real_block(data):
        return None  # a real PEM body (maybe with "Bag Attributes" lines around it): judge it as a key
    if _instructions().search(data):
        return "holds instructions (\"" + _first_line(data) + "\")"
    if PEM_BLOCK.search(data):
        return "has a PEM skeleton with no base64 body (\"...\" or text where the key or certificate belongs)"
    return None


def _pass_file_reason(data: bytes) -> str | None:
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) >= 2:
        return f"has {len(lines)} lines of text; a passphrase is one line, and the board uses the file's exact bytes"
    if lines and b" " in lines[0].strip() and _instructions().search(data):
        return "holds instructions (\"" + _first_line(data) + "\")"
    return None


def _has_real_block(data: bytes) -> bool:
    for match in PEM_BLOCK.finditer(data):
        body = [line.strip() for line in match.group(2).splitlines()]
        body = [line for line in body if line and b":" not in line]  # Proc-Type / DEK-Info headers
        if body and sum(len(line) for line in body if BASE64_LINE.fullmatch(line)) >= 64:
            return True
    return False


def _first_line(data: bytes) -> str:
    from hatch_meadow.textsafe import printable

    line = next((line.strip() for line in data.splitlines() if line.strip()), b"")
    text = printable(line.decode("utf-8", errors="replace"))
    return text if len(text) <= 80 else text[:77] + "..."
