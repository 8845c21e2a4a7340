"""Find private-key material by content, whatever a file is called (issue #10 F2).

Recognised: PEM private-key blocks of any label (encrypted or not, OpenSSH included), DER private keys
by structure (PKCS#1, PKCS#8, SEC1, EncryptedPrivateKeyInfo; a cheap ASN.1 length check first, then
``cryptography`` decides), PKCS#12 files by structure, pass files by name, and given secret byte
strings (a set's key and passphrase). Pure functions on bytes and names;
never returns or prints the secret itself. :mod:`hatch_meadow.scan` walks folders and archives with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Final

from hatch_meadow.names import PASS_FILE

#: Files larger than this are not read whole (a key is a few KiB; DER keys are checked only below 64 KiB).
MAX_SCAN_BYTES: Final = 16 << 20
MAX_DER_BYTES: Final = 64 << 10
#: Secrets shorter than this are not searched for as bytes (too many false hits).
MIN_SECRET_BYTES: Final = 8
_PEM_KEY: Final = re.compile(rb"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----")
#: PFX: SEQUENCE { INTEGER 3, SEQUENCE { OID 1.2.840.113549.1.7.1 (data) | 7.6 (encryptedData) ...
_PFX_VERSION_AND_OID: Final = re.compile(
    rb"\x02\x01\x03\x30[\x00-\xff]{1,5}\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07[\x01\x06]", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Hit:
    """Key material found: where (a path, or ``archive!member``) and what it is (never the secret)."""

    where: str
    what: str


def classify(name: str, data: bytes, secrets: Iterable[bytes] = ()) -> str | None:
    """What key material ``data`` (a file called ``name``) holds, or None."""
    if PurePosixPath(name.replace("\\", "/")).name == PASS_FILE:
        return "a pass file (by its name)"
    found = _PEM_KEY.search(data)
    if found:
        return f"a PEM {found.group(1).decode('ascii')} block"
    der = _der_key(data)
    if der:
        return der
    for secret in secrets:
        if len(secret) >= MIN_SECRET_BYTES and secret in data:
            return "the bytes of this project's private key or passphrase"
    return None


def _der_length(data: bytes) -> int | None:
    """Total length of the DER SEQUENCE at the start of ``data``, or None."""
    if len(data) < 2 or data[0] != 0x30:
        return None
    first = data[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(data) < 2 + count:
        return None
    return 2 + count + int.from_bytes(data[2:2 + count], "big")


def _der_key(data: bytes) -> str | None:
    total = _der_length(data)
    if total is None or len(data) > MAX_DER_BYTES or len(data) not in (total, total + 1):  # +1: the board's NUL
        return None
    body = data[:total]
    if _PFX_VERSION_AND_OID.match(body, _der_header_size(body)):
        return "a PKCS#12 (PFX) file"
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        load_der_private_key(body, password=None)
    except TypeError:
        return "an encrypted DER private key (PKCS#8 EncryptedPrivateKeyInfo)"
    except Exception:  # noqa: BLE001 - any parse failure (ValueError, UnsupportedAlgorithm…) means "not a key"
        return None
    return "a DER private key"


def _der_header_size(body: bytes) -> int:
    return 2 if body[1] < 0x80 else 2 + (body[1] & 0x7F)
