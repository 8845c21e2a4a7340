"""The one table of Mbed TLS error codes (``MBEDTLS_ERR_*``, spec §2.4 / §2.5): names by value, values by name,
and how a composed code (high-level + low-level) is named. Pure data; the real library is not needed."""

from __future__ import annotations

from typing import Final

# Low-level module codes occupy bits 0..6 of the absolute value, high-level codes bits 7..15. A
# high-level failure caused by a low-level one returns their sum (e.g. -0x2562 =
# X509_INVALID_EXTENSIONS -0x2500 + ASN1_UNEXPECTED_TAG -0x0062); spec §2.4 / §2.5.
_LOW_LEVEL_MASK: Final = 0x7F
_HIGH_LEVEL_MASK: Final = 0xFF80

#: ``MBEDTLS_ERR_*`` constant names (without the prefix) of Mbed TLS 2.28, by negative value. Covers
#: the codes of spec §2.5 plus the rest of the modules a key or certificate parse can reach.
ERROR_NAMES: Final[dict[int, str]] = {
    # Low level (bits 0..6).
    -0x0002: "MPI_FILE_IO_ERROR",
    -0x0004: "MPI_BAD_INPUT_DATA",
    -0x0006: "MPI_INVALID_CHARACTER",
    -0x0008: "MPI_BUFFER_TOO_SMALL",
    -0x000A: "MPI_NEGATIVE_VALUE",
    -0x000C: "MPI_DIVISION_BY_ZERO",
    -0x000E: "MPI_NOT_ACCEPTABLE",
    -0x0010: "MPI_ALLOC_FAILED",
    -0x0020: "AES_INVALID_KEY_LENGTH",
    -0x0022: "AES_INVALID_INPUT_LENGTH",
    -0x002A: "BASE64_BUFFER_TOO_SMALL",
    -0x002C: "BASE64_INVALID_CHARACTER",
    -0x002E: "OID_NOT_FOUND",
    -0x000B: "OID_BUF_TOO_SMALL",
    -0x0032: "DES_INVALID_INPUT_LENGTH",
    -0x0060: "ASN1_OUT_OF_DATA",
    -0x0062: "ASN1_UNEXPECTED_TAG",
    -0x0064: "ASN1_INVALID_LENGTH",
    -0x0066: "ASN1_LENGTH_MISMATCH",
    -0x0068: "ASN1_INVALID_DATA",
    -0x006A: "ASN1_ALLOC_FAILED",
    -0x006C: "ASN1_BUF_TOO_SMALL",
    # PEM.
    -0x1080: "PEM_NO_HEADER_FOOTER_PRESENT",
    -0x1100: "PEM_INVALID_DATA",
    -0x1180: "PEM_ALLOC_FAILED",
    -0x1200: "PEM_INVALID_ENC_IV",
    -0x1280: "PEM_UNKNOWN_ENC_ALG",
    -0x1300: "PEM_PASSWORD_REQUIRED",
    -0x1380: "PEM_PASSWORD_MISMATCH",
    -0x1400: "PEM_FEATURE_UNAVAILABLE",
    -0x1480: "PEM_BAD_INPUT_DATA",
    # PKCS#12 PBE.
    -0x1E00: "PKCS12_PASSWORD_MISMATCH",
    -0x1E80: "PKCS12_PBE_INVALID_FORMAT",
    -0x1F00: "PKCS12_FEATURE_UNAVAILABLE",
    -0x1F80: "PKCS12_BAD_INPUT_DATA",
    # X.509.
    -0x2080: "X509_FEATURE_UNAVAILABLE",
    -0x2100: "X509_UNKNOWN_OID",
    -0x2180: "X509_INVALID_FORMAT",
    -0x2200: "X509_INVALID_VERSION",
    -0x2280: "X509_INVALID_SERIAL",
    -0x2300: "X509_INVALID_ALG",
    -0x2380: "X509_INVALID_NAME",
    -0x2400: "X509_INVALID_DATE",
    -0x2480: "X509_INVALID_SIGNATURE",
    -0x2500: "X509_INVALID_EXTENSIONS",
    -0x2580: "X509_UNKNOWN_VERSION",
    -0x2600: "X509_UNKNOWN_SIG_ALG",
    -0x2680: "X509_SIG_MISMATCH",
    -0x2700: "X509_CERT_VERIFY_FAILED",
    -0x2780: "X509_CERT_UNKNOWN_FORMAT",
    -0x2800: "X509_BAD_INPUT_DATA",
    -0x2880: "X509_ALLOC_FAILED",
    -0x2900: "X509_FILE_IO_ERROR",
    -0x2980: "X509_BUFFER_TOO_SMALL",
    -0x3000: "X509_FATAL_ERROR",
    # PKCS#5 PBES2.
    -0x2E00: "PKCS5_PASSWORD_MISMATCH",
    -0x2E80: "PKCS5_FEATURE_UNAVAILABLE",
    -0x2F00: "PKCS5_INVALID_FORMAT",
    -0x2F80: "PKCS5_BAD_INPUT_DATA",
    # Public key layer.
    -0x3880: "PK_BUFFER_TOO_SMALL",
    -0x3900: "PK_SIG_LEN_MISMATCH",
    -0x3980: "PK_FEATURE_UNAVAILABLE",
    -0x3A00: "PK_UNKNOWN_NAMED_CURVE",
    -0x3A80: "PK_INVALID_ALG",
    -0x3B00: "PK_INVALID_PUBKEY",
    -0x3B80: "PK_PASSWORD_MISMATCH",
    -0x3C00: "PK_PASSWORD_REQUIRED",
    -0x3C80: "PK_UNKNOWN_PK_ALG",
    -0x3D00: "PK_KEY_INVALID_FORMAT",
    -0x3D80: "PK_KEY_INVALID_VERSION",
    -0x3E00: "PK_FILE_IO_ERROR",
    -0x3E80: "PK_BAD_INPUT_DATA",
    -0x3F00: "PK_TYPE_MISMATCH",
    -0x3F80: "PK_ALLOC_FAILED",
    # RSA.
    -0x4080: "RSA_BAD_INPUT_DATA",
    -0x4100: "RSA_INVALID_PADDING",
    -0x4180: "RSA_KEY_GEN_FAILED",
    -0x4200: "RSA_KEY_CHECK_FAILED",
    -0x4280: "RSA_PUBLIC_FAILED",
    -0x4300: "RSA_PRIVATE_FAILED",
    -0x4380: "RSA_VERIFY_FAILED",
    -0x4400: "RSA_OUTPUT_TOO_LARGE",
    -0x4480: "RSA_RNG_FAILED",
    # Elliptic curves.
    -0x4B00: "ECP_IN_PROGRESS",
    -0x4C00: "ECP_SIG_LEN_MISMATCH",
    -0x4C80: "ECP_INVALID_KEY",
    -0x4D00: "ECP_RANDOM_FAILED",
    -0x4D80: "ECP_ALLOC_FAILED",
    -0x4E00: "ECP_VERIFY_FAILED",
    -0x4E80: "ECP_FEATURE_UNAVAILABLE",
    -0x4F00: "ECP_BUFFER_TOO_SMALL",
    -0x4F80: "ECP_BAD_INPUT_DATA",
    # Message digests and ciphers (reached through PEM / PKCS#5 / PKCS#12 decryption).
    -0x5080: "MD_FEATURE_UNAVAILABLE",
    -0x5100: "MD_BAD_INPUT_DATA",
    -0x5180: "MD_ALLOC_FAILED",
    -0x5200: "MD_FILE_IO_ERROR",
    -0x6080: "CIPHER_FEATURE_UNAVAILABLE",
    -0x6100: "CIPHER_BAD_INPUT_DATA",
    -0x6180: "CIPHER_ALLOC_FAILED",
    -0x6200: "CIPHER_INVALID_PADDING",
    -0x6280: "CIPHER_FULL_BLOCK_EXPECTED",
    -0x6300: "CIPHER_AUTH_FAILED",
    -0x6380: "CIPHER_INVALID_CONTEXT",
    # 2.24.0 returned PK_KEY_INVALID_FORMAT + PK_UNKNOWN_PK_ALG = -0x7980 for unknown PKCS#8
    # algorithms, which collides with this SSL code (spec §2.4). Listed so the name is recognisable.
    -0x7980: "SSL_BAD_HS_SERVER_HELLO",
}


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
    return "+".join(ERROR_NAMES.get(part, f"-0x{-part:04X}") for part in parts if part)


#: Values by name (the inverse of :data:`ERROR_NAMES`), for predictions that name the error they expect.
ERROR_CODES: Final[dict[str, int]] = {name: code for code, name in ERROR_NAMES.items()}


def describe(name: str) -> str:
    """``NAME (-0xHHHH = -DDDDD)``, as Meadow logs a code in decimal; an unknown name is returned as it is."""
    code = ERROR_CODES.get(name)
    return name if code is None else f"{name} (-0x{-code:04X} = {code})"
