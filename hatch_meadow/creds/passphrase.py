"""The passphrase rule, and reading one from the environment (never from argv).

Meadow's firmware keeps the passphrase in a 512-byte buffer with a trailing NUL (PASSWORD_SIZE,
spec hcom-protocol §10.2), and the whole pass file is the passphrase. So: 1 to 511 bytes, no NUL, no
line breaks or other control characters, no whitespace at either end (an editor's newline is the
classic "wrong passphrase" on the board).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from hatch_meadow.errors import InputError

MAX_PASSPHRASE_BYTES: Final = 511


def passphrase_problem(value: bytes) -> str | None:
    """Why ``value`` cannot be the board's passphrase, or None."""
    if not value:
        return "is empty"
    if len(value) > MAX_PASSPHRASE_BYTES:
        return (f"is {len(value)} bytes; the board keeps at most {MAX_PASSPHRASE_BYTES} (its buffer is 512 bytes "
                "with a trailing NUL)")
    if value != value.strip():
        return "starts or ends with whitespace (the board uses the pass file's exact bytes)"
    if any(b < 0x20 or b == 0x7F for b in value):
        return "contains a control character (a NUL, a line break or a tab)"
    return None


def passphrase_from_env(environ: Mapping[str, str], name: str) -> bytes | None:
    """The passphrase in variable ``name``; None when it is not set (a random one is made then).

    Raises:
        InputError: the variable is set but empty, or breaks the passphrase rule (exit 2).
    """
    if name not in environ:
        return None
    import os

    value = os.fsencode(environ[name])
    problem = passphrase_problem(value)
    if problem:
        hint = ("unset it to get a random passphrase, or set it to the passphrase you want" if not value
                else f"use 1 to {MAX_PASSPHRASE_BYTES} printable bytes")
        raise InputError(f"${name}: the passphrase {problem}", hint=hint)
    return value


_NEWLINES: Final = ((b"\r\n", "CRLF"), (b"\n", "LF"), (b"\r", "CR"))


def pass_file_readings(data: bytes) -> list[tuple[bytes, str, str]]:
    """The passphrases a pass file was probably meant to hold, when its bytes are not it: (bytes, finding
    code, what is wrong). A Windows editor's byte-order mark (UTF-8 or UTF-16) comes before a trailing line
    break; the board uses the file's exact bytes, so each of these breaks decryption."""
    found: list[tuple[bytes, str, str]] = []
    base, encoding = data, None
    if data.startswith(b"\xef\xbb\xbf"):
        base, encoding = data[3:], "starts with a UTF-8 byte-order mark (added by Windows editors)"
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            base = data.decode("utf-16").encode("utf-8")
            encoding = "is saved as UTF-16 (with a byte-order mark)"
        except UnicodeDecodeError:
            base = data
    if encoding:
        found.append((base, "pass-bom", encoding))
    for suffix, shown in _NEWLINES:
        if base.endswith(suffix):
            what = f"{encoding} and ends with a {shown}" if encoding else f"ends with a {shown}"
            found.append((base[: -len(suffix)], "pass-bom" if encoding else "pass-trailing-newline", what))
            break
    return found
