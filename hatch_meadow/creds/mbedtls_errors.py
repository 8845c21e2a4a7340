"""The one table of Mbed TLS error codes (``MBEDTLS_ERR_*``, spec §2.4 / §2.5): names by value, values by name,
and how a composed code (high-level + low-level) is named. Pure data; the real library is not needed."""

from __future__ import annotations

import functools
from typing import Any, Final

# Low-level module codes occupy bits 0..6 of the absolute value, high-level codes bits 7..15. A
# high-level failure caused by a low-level one returns their sum (e.g. -0x2562 =
# X509_INVALID_EXTENSIONS -0x2500 + ASN1_UNEXPECTED_TAG -0x0062); spec §2.4 / §2.5.
_LOW_LEVEL_MASK: Final = 0x7F
_HIGH_LEVEL_MASK: Final = 0xFF80

#: The modules a key or certificate parse can reach (spec §2.4 / §2.5), as Mbed TLS's error table names them.
PARSE_MODULES: Final = frozenset({"BIGNUM", "AES", "BASE64", "OID", "DES", "ASN1", "PEM", "PKCS12", "X509", "PKCS5",
                                  "PK", "RSA", "ECP", "MD", "CIPHER"})
#: 2.24.0 returned PK_KEY_INVALID_FORMAT + PK_UNKNOWN_PK_ALG = -0x7980 for unknown PKCS#8 algorithms, which
#: collides with an SSL code of 2.28 (spec §2.4): named so the value is recognisable.
DOUBLE_ADD: Final = -0x7980


@functools.cache
def error_names() -> dict[int, str]:
    """Constant names (without ``MBEDTLS_ERR_``) by value, from the one table read from Mbed TLS's headers
    (``hatch_meadow/explain/mbedtls_errors.json``): the parse modules' codes of 2.28, named as the board's
    3.x names them where a name changed."""
    from hatch_meadow.explain.table import all_values, board_definition, split

    names: dict[int, str] = {}
    for value in all_values():
        parts = split(value)
        if len(parts) != 1 or not parts[0].known:
            continue
        definition = board_definition(parts[0])
        in_2_28 = any(r.startswith("2.28") for d in parts[0].definitions for r in d.releases)
        if in_2_28 and (definition.module in PARSE_MODULES or value == DOUBLE_ADD):
            names[value] = definition.name
    return names


def error_name(code: int) -> str:
    """Name a return value of an Mbed TLS parse call.

    Args:
        code: The return value: 0, a negative ``MBEDTLS_ERR_*`` code (possibly a high-level plus a
            low-level code), or a positive count of certificates that failed in a bundle.

    Returns:
        ``"OK"`` for 0; ``"CERTS_FAILED(+N)"`` for a positive N; otherwise the constant name(s)
        without the ``MBEDTLS_ERR_`` prefix, high-level part first, joined by ``+`` (e.g.
        ``"X509_INVALID_EXTENSIONS+ASN1_UNEXPECTED_TAG"``). A part missing from the table is shown
        as its hex value, e.g. ``"-0x7F00"``.
    """
    if code == 0:
        return "OK"
    if code > 0:
        return f"CERTS_FAILED(+{code})"
    magnitude = -code
    parts = [-(magnitude & _HIGH_LEVEL_MASK), -(magnitude & _LOW_LEVEL_MASK)]
    names = error_names()
    return "+".join(names.get(part, f"-0x{-part:04X}") for part in parts if part)


@functools.cache
def error_codes() -> dict[str, int]:
    """Values by name (the inverse of :func:`error_names`), for predictions that name the error they expect."""
    return {name: code for code, name in error_names().items()}


def __getattr__(name: str) -> dict[Any, Any]:
    """``ERROR_NAMES`` (value → name, the codes a parse can return) and ``ERROR_CODES`` (name → value), read
    from the table on first use: a check that finds nothing wrong never loads it."""
    if name == "ERROR_NAMES":
        return error_names()
    if name == "ERROR_CODES":
        return error_codes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def describe(name: str) -> str:
    """``NAME (-0xHHHH = -DDDDD)``, as Meadow logs a code in decimal; an unknown name is returned as it is."""
    code = error_codes().get(name)
    return name if code is None else f"{name} (-0x{-code:04X} = {code})"
