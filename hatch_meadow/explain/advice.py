"""Likely causes, in Meadow terms, and this project's fix commands, by Mbed TLS error name.

Facts behind the causes: ../shared/spec/mbedtls-compat.md §0, §2.5 and §5 (verified on real Mbed TLS
builds 2.16 to 3.6). A name that is not here gets no cause: the explanation says what the code is and no more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Advice:
    """Why a board reports this, and what to run."""

    cause: str
    fixes: tuple[str, ...]
    file: str | None = None  # the credential file the code points at, when it does


KEY: Final = "private_key.pem"
PASS: Final = "private_key_pass.txt"
CERT: Final = "client_cert.pem"
CHECK: Final = "hatch-meadow check --with-mbedtls"

_PLACEHOLDER = ("a placeholder or instructions text instead of a key (the Meadow samples ship files saying "
                "\"Replace this file with your private key…\")")

_PASSWORD_REQUIRED = Advice(
    f"the key is encrypted and {PASS} is missing or empty",
    (f"put the key's passphrase in {PASS} (exact bytes, no newline), or `hatch-meadow generate --force`",), PASS)
_PASSWORD_MISMATCH = Advice(
    f"{PASS} does not decrypt the key: most often a trailing newline (`echo secret > {PASS}` adds one; Windows "
    "editors add CRLF): the board uses the file's exact bytes", ("hatch-meadow fix  # strips the newline", CHECK), PASS)

ADVICE: Final[dict[str, Advice]] = {
    "PEM_INVALID_DATA": Advice(
        f"{KEY} (or {CERT}) is not valid PEM: {_PLACEHOLDER}, broken base64, a blank line before Proc-Type, or "
        "a file damaged by copy and paste", (CHECK, "hatch-meadow generate --force  # for a placeholder: a new set",
                                             "hatch-meadow fix  # for a real key the board cannot read"), KEY),
    "PEM_NO_HEADER_FOOTER_PRESENT": Advice(
        f"no -----BEGIN … PRIVATE KEY----- line: the file is empty, DER, or {_PLACEHOLDER}",
        (CHECK, "hatch-meadow generate --force"), KEY),
    "PEM_PASSWORD_REQUIRED": _PASSWORD_REQUIRED,
    "PK_PASSWORD_REQUIRED": _PASSWORD_REQUIRED,
    "PEM_PASSWORD_MISMATCH": _PASSWORD_MISMATCH,
    "PK_PASSWORD_MISMATCH": _PASSWORD_MISMATCH,
    "PKCS5_PASSWORD_MISMATCH": Advice(
        f"{PASS} does not decrypt the PKCS#8 key (a trailing newline, or the wrong passphrase)",
        ("hatch-meadow fix", CHECK), PASS),
    "PKCS12_PASSWORD_MISMATCH": Advice(
        f"{PASS} does not decrypt the PKCS#8 key (a trailing newline, or the wrong passphrase)",
        ("hatch-meadow fix", CHECK), PASS),
    "PKCS5_FEATURE_UNAVAILABLE": Advice(
        "the key is PKCS#8 encrypted with PBES2 and AES (OpenSSL 3's default `BEGIN ENCRYPTED PRIVATE KEY`, also "
        "what `openssl pkcs12 -nocerts` writes): PBES2 with AES is not supported before Mbed TLS 3.6",
        ("hatch-meadow fix  # re-encodes the same key as legacy PEM AES-256, same passphrase",), KEY),
    "PK_FEATURE_UNAVAILABLE": Advice(
        "the key's PKCS#8 encryption is one the board does not support (PBES1, RC2; RC4 in Mbed TLS 3.x)",
        ("hatch-meadow fix  # re-encodes the same key as legacy PEM AES-256",), KEY),
    "PEM_UNKNOWN_ENC_ALG": Advice(
        "the key's DEK-Info names a cipher the board lacks (not DES, 3DES or AES-CBC, or DES in a build without it)",
        ("hatch-meadow fix --key-encryption aes-256",), KEY),
    "PEM_FEATURE_UNAVAILABLE": Advice(
        "the board's build cannot decrypt legacy PEM keys (no MD5/CBC/DES/AES)",
        ("hatch-meadow generate --force --key-encryption none  # only if the board's storage is trusted",), KEY),
    "PK_KEY_INVALID_FORMAT": Advice(
        f"{KEY} is not a key the board reads: a certificate or CSR in the key file, DER with trailing bytes, a "
        "damaged key, or (with a wrong pass file) a wrongly decrypted one", (CHECK, "hatch-meadow fix",
                                                                              "hatch-meadow generate --force"), KEY),
    "PK_KEY_INVALID_VERSION": Advice(
        f"{KEY} has a key structure version the board does not accept", (CHECK, "hatch-meadow fix"), KEY),
    "PK_UNKNOWN_PK_ALG": Advice(
        "the key type is not supported by the board (Ed25519, Ed448, DSA, RSA-PSS, X25519 before 3.5)",
        ("hatch-meadow generate --force --key-type rsa-2048  # or ec-p256",), KEY),
    "PK_UNKNOWN_NAMED_CURVE": Advice(
        "the EC key uses a curve the board does not know", ("hatch-meadow generate --force --key-type ec-p256",), KEY),
    "ECP_FEATURE_UNAVAILABLE": Advice(
        "the EC key's curve (or explicit curve parameters) is not compiled into the board's Mbed TLS",
        ("hatch-meadow generate --force --key-type ec-p256",), KEY),
    "PK_TYPE_MISMATCH": Advice(
        f"the key and the certificate are of different types: {CERT} does not belong to {KEY}",
        ("hatch-meadow generate --keep-key  # a new certificate for this key", CHECK), CERT),
    "RSA_KEY_CHECK_FAILED": Advice(
        f"the RSA key in {KEY} is inconsistent (damaged)", ("hatch-meadow generate --force",), KEY),
    "X509_UNKNOWN_SIG_ALG": Advice(
        f"{CERT} is signed with an algorithm the board lacks (Ed25519/Ed448)",
        ("hatch-meadow generate --keep-key  # a SHA-256 certificate for the same key",), CERT),
    "X509_INVALID_EXTENSIONS": Advice(
        f"{CERT} has a critical extension the board does not support (nameConstraints, unknown OIDs)",
        ("hatch-meadow generate --keep-key",), CERT),
    "X509_FEATURE_UNAVAILABLE": Advice(
        f"{CERT} has a critical certificatePolicies other than anyPolicy", ("hatch-meadow generate --keep-key",), CERT),
    "X509_INVALID_FORMAT": Advice(
        f"{CERT} is not a certificate the board reads (e.g. `BEGIN TRUSTED CERTIFICATE`, a key, or {_PLACEHOLDER})",
        (CHECK, "hatch-meadow generate --keep-key"), CERT),
    "X509_CERT_VERIFY_FAILED": Advice(
        "the server's certificate did not verify against the board's trusted roots (a server-side or root CA "
        "problem, not the client credentials)", ("check the server name and the root CA the app trusts",)),
    "SSL_FATAL_ALERT_MESSAGE": Advice(
        "the server ended the handshake with an alert; for IoT Hub and brokers that require client certificates, "
        "usually the certificate is not registered or does not chain to a trusted CA",
        ("hatch-meadow verify-tls --host HOST --mqtt  # the server's verdict from this machine",
         "hatch-meadow thumbprint  # the az line that registers it")),
    "SSL_CERTIFICATE_REQUIRED": Advice(
        "the server asked for a client certificate and none was sent: the board has no usable credentials",
        ("hatch-meadow deploy", CHECK)),
    "SSL_BAD_CERTIFICATE": Advice(
        "a certificate in the handshake was refused", ("hatch-meadow verify-tls --host HOST --mqtt", CHECK)),
    "SSL_HANDSHAKE_FAILURE": Advice(
        "the handshake failed (no common cipher, or the server refused the client certificate)",
        ("hatch-meadow verify-tls --host HOST --mqtt",)),
    "NET_CONNECT_FAILED": Advice("the board could not connect to the server (network, DNS or port)",
                                 ("check the board's network and the host name; not a credential problem",)),
    "NET_UNKNOWN_HOST": Advice("the server's name did not resolve", ("check the host name and the board's DNS",)),
}


def advice_for(names: list[str]) -> Advice | None:
    """The advice for a code whose parts are ``names`` (high-level first): the first part that has one."""
    for name in names:
        found = ADVICE.get(name)
        if found is not None:
            return found
    return None
