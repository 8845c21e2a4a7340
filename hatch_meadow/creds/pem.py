"""PEM framing exactly as Mbed TLS's ``mbedtls_pem_read_buffer`` reads it (spec §2.1), pure.

Mbed TLS finds the header by substring search anywhere in the buffer, allows at most one space and an
optional CR after it, requires ``Proc-Type: 4,ENCRYPTED`` on the very next line for legacy encryption,
and only knows the DEK-Info ciphers DES-EDE3-CBC, DES-CBC and AES-{128,192,256}-CBC.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Final, Literal

Status = Literal["ok", "absent", "invalid", "unknown-cipher"]

_PROC_TYPE: Final = b"Proc-Type: 4,ENCRYPTED"
_DEK_PREFIXES: Final = (
    (b"DEK-Info: DES-EDE3-CBC,", "DES-EDE3-CBC", 8),
    (b"DEK-Info: DES-CBC,", "DES-CBC", 8),
    (b"DEK-Info: AES-128-CBC,", "AES-128-CBC", 16),
    (b"DEK-Info: AES-192-CBC,", "AES-192-CBC", 16),
    (b"DEK-Info: AES-256-CBC,", "AES-256-CBC", 16),
)
_B64_LINE: Final = re.compile(rb"[A-Za-z0-9+/=]*")
ANY_BEGIN: Final = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


@dataclass(frozen=True, slots=True)
class PemRead:
    """The outcome of reading one PEM block, with where the block ends (for bundles)."""

    status: Status
    label: str
    end: int = 0
    encrypted: bool = False
    dek_name: str | None = None
    iv: bytes | None = None
    body: bytes | None = None
    detail: str = ""


def read_block(data: bytes, label: str, start: int = 0) -> PemRead:
    """Read the first ``label`` block at or after ``start`` the way Mbed TLS does."""
    header = f"-----BEGIN {label}-----".encode()
    footer = f"-----END {label}-----".encode()
    s1 = data.find(header, start)
    if s1 == -1:
        return PemRead("absent", label)
    s2 = data.find(footer, start)
    if s2 == -1 or s2 <= s1:
        return PemRead("absent", label, detail="no matching END line")
    p = s1 + len(header)
    p += data[p:p + 1] == b" "
    p += data[p:p + 1] == b"\r"
    if data[p:p + 1] != b"\n":
        return PemRead("absent", label, detail=f"the BEGIN line has text after '-----BEGIN {label}-----'")
    p += 1
    end = s2 + len(footer)
    end += data[end:end + 1] == b" "
    end += data[end:end + 1] == b"\r"
    end += data[end:end + 1] == b"\n"
    encrypted, dek_name, iv = False, None, None
    if s2 - p >= len(_PROC_TYPE) and data.startswith(_PROC_TYPE, p):
        encrypted = True
        p += len(_PROC_TYPE)
        p += data[p:p + 1] == b"\r"
        if data[p:p + 1] != b"\n":
            return PemRead("invalid", label, end, True, detail="no line break after Proc-Type")
        p += 1
        for prefix, name, iv_len in _DEK_PREFIXES:
            if data.startswith(prefix, p):
                p += len(prefix)
                try:
                    iv = bytes.fromhex(data[p:p + 2 * iv_len].decode("ascii"))
                except (UnicodeDecodeError, ValueError):
                    return PemRead("invalid", label, end, True, name, detail="the DEK-Info IV is not hex")
                if len(iv) != iv_len:
                    return PemRead("invalid", label, end, True, name, detail="the DEK-Info IV is too short")
                p += 2 * iv_len
                dek_name = name
                break
        else:
            # Name only the cipher of a DEK-Info line: any other line here may be key material.
            line_end = data.find(b"\n", p)
            line = data[p:line_end if line_end != -1 else s2].decode("ascii", "replace").strip()
            if line.startswith("DEK-Info:"):
                cipher = line[len("DEK-Info:"):].split(",", 1)[0].strip()[:40]
                return PemRead("unknown-cipher", label, end, True, detail=cipher or "an empty DEK-Info")
            return PemRead("invalid", label, end, True, detail="Proc-Type: 4,ENCRYPTED is not followed by a "
                           "DEK-Info line")
        p += data[p:p + 1] == b"\r"
        if data[p:p + 1] != b"\n":
            return PemRead("invalid", label, end, True, dek_name, iv, detail="no line break after DEK-Info")
        p += 1
    if p >= s2:
        return PemRead("invalid", label, end, encrypted, dek_name, iv, detail="the block has no body")
    body = decode_base64(data[p:s2])
    if body is None:
        return PemRead("invalid", label, end, encrypted, dek_name, iv,
                       detail="the body is not valid base64 (a blank or stray line inside the block?)")
    return PemRead("ok", label, end, encrypted, dek_name, iv, body)


def decode_base64(text: bytes) -> bytes | None:
    """Base64 as Mbed TLS decodes it: CRLF/LF line breaks and trailing spaces allowed, nothing else."""
    parts = []
    for line in text.split(b"\n"):
        line = line[:-1] if line.endswith(b"\r") else line
        stripped = line.rstrip(b" ")
        if not _B64_LINE.fullmatch(stripped):
            return None
        parts.append(stripped)
    joined = b"".join(parts)
    if not joined:
        return None
    try:
        return base64.b64decode(joined, validate=True)
    except (binascii.Error, ValueError):
        return None


def labels_in(data: bytes) -> list[str]:
    """Every ``-----BEGIN X-----`` label in ``data``, in order."""
    return [m.group(1).decode("ascii") for m in ANY_BEGIN.finditer(data)]
