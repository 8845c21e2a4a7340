"""Generate credentials that every Meadow board accepts the first time.

Key: RSA 2048/3072/4096 or EC P-256/P-384, written as "traditional" PEM (``BEGIN RSA PRIVATE KEY`` /
``BEGIN EC PRIVATE KEY``), encrypted with legacy PEM AES-256-CBC (default: parsed by every Mbed TLS
build tested, also without DES) or DES-EDE3-CBC (what the Meadow docs recommend), or not at all.
Certificate: self-signed X.509 v3, CN = device id, SHA-256, client-auth extensions. Pass file: the
passphrase's exact bytes with no trailing newline, or empty for an unencrypted key (so the board
does not keep a stale passphrase from an earlier provisioning).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Final

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from hatch_meadow.creds import legacypem
from hatch_meadow.creds.certbuild import build_client_certificate
from hatch_meadow.creds.files import write_credentials
from hatch_meadow.creds.passphrase import MAX_PASSPHRASE_BYTES, passphrase_problem
from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS, KEY_TYPES, KeyEncryption, KeyType, device_id_problem
from hatch_meadow.errors import CredentialError
from hatch_meadow.names import CLIENT_CERT, CREDENTIAL_FILES, PASS_FILE, PRIVATE_KEY

if TYPE_CHECKING:  # rsa is imported when an RSA key is made: an EC `generate` does without it
    from cryptography.hazmat.primitives.asymmetric import rsa

#: 64 symbols, 6 bits each: string.ascii_letters + digits + "-_", spelt out (`string` costs a short command time).
PASSPHRASE_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
PASSPHRASE_LENGTH: Final = 24  # 144 bits; printable, no whitespace, shell-safe


@dataclass(frozen=True, slots=True)
class Generated:
    """What generate wrote (never the key or the passphrase)."""

    directory: Path
    files: tuple[Path, ...]
    device_id: str
    key_type: str
    key_encryption: str
    passphrase_source: str  # "env:NAME", "generated" or "none"
    not_after: datetime
    sha1: str
    sha256: str


def new_passphrase() -> bytes:
    """A random printable passphrase (144 bits, no whitespace): one of 64 symbols per byte of os.urandom
    (the OS's CSPRNG, what ``secrets`` uses); 64 divides 256, so every symbol is equally likely."""
    return bytes(PASSPHRASE_ALPHABET.encode("ascii")[b & 0x3F] for b in os.urandom(PASSPHRASE_LENGTH))


def new_key(key_type: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """A new private key of ``key_type`` (one of KEY_TYPES)."""
    kind = KeyType(key_type)
    if kind.rsa_bits is not None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        return rsa.generate_private_key(public_exponent=65537, key_size=kind.rsa_bits)
    return ec.generate_private_key(ec.SECP256R1() if kind is KeyType.EC_P256 else ec.SECP384R1())


def encode_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, key_encryption: str,
               passphrase: bytes | None) -> bytes:
    """The key as traditional PEM, legacy-encrypted as asked."""
    der = key.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL,
                            NoEncryption())
    label = "EC PRIVATE KEY" if isinstance(key, ec.EllipticCurvePrivateKey) else "RSA PRIVATE KEY"
    dek = KeyEncryption(key_encryption).dek
    if dek is None:
        return key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL,
                                 NoEncryption())
    if not passphrase:
        raise CredentialError("an encrypted key needs a passphrase")
    return legacypem.encrypt(der, label, passphrase, dek)


def generate_credentials(
    directory: Path,
    *,
    device_id: str,
    key_type: str = "rsa-2048",
    key_encryption: str = "aes-256",
    days: int = 365,
    passphrase: bytes | None = None,
    passphrase_source: str = "generated",
    force: bool = False,
    now: datetime | None = None,
) -> Generated:
    """Create a key, a certificate and a pass file in ``directory``.

    Args:
        passphrase: use these exact bytes (e.g. from the environment); None makes a random one.
        force: replace existing credential files.

    Raises:
        CredentialError: bad arguments, existing files without ``force``, a symlink or folder in the way,
            or a write failure. Nothing is written unless everything can be.
    """
    problem = device_id_problem(device_id)
    if problem:
        raise CredentialError(f"device id {device_id!r} {problem}", hint="pass a valid --device-id")
    if key_type not in KEY_TYPES:
        raise CredentialError(f"unknown key type {key_type!r}", hint=f"use one of {', '.join(KEY_TYPES)}")
    if key_encryption not in KEY_ENCRYPTIONS:
        raise CredentialError(f"unknown key encryption {key_encryption!r}",
                              hint=f"use one of {', '.join(KEY_ENCRYPTIONS)}")
    if not 1 <= days <= 36500:
        raise CredentialError(f"validity of {days} days is out of range", hint="use 1 to 36500 days")
    if passphrase is not None and (problem := passphrase_problem(passphrase)):
        raise CredentialError(f"the passphrase from {passphrase_source} {problem}",
                              hint=f"use 1 to {MAX_PASSPHRASE_BYTES} printable bytes without surrounding whitespace")
    existing = [n for n in CREDENTIAL_FILES if (directory / n).exists() or (directory / n).is_symlink()]
    if existing and not force:
        raise CredentialError(f"{directory}: {', '.join(existing)} already exist; refusing to overwrite credentials",
                              hint="pass --force to replace them (register the new thumbprint afterwards)")
    moment = now or datetime.now(timezone.utc)
    key = new_key(key_type)
    if key_encryption == "none":
        secret, source = b"", "none"
    elif passphrase:
        secret, source = passphrase, passphrase_source
    else:
        secret, source = new_passphrase(), "generated"
    certificate = build_client_certificate(key, device_id, days, moment)
    written = write_credentials(directory, {
        CLIENT_CERT: certificate.pem,
        PRIVATE_KEY: encode_key(key, key_encryption, secret or None),
        PASS_FILE: secret,
    }, force=force)
    return Generated(
        directory=directory, files=tuple(written), device_id=device_id, key_type=key_type,
        key_encryption=key_encryption, passphrase_source=source, not_after=certificate.not_after,
        sha1=certificate.sha1, sha256=certificate.sha256,
    )


def reissue_certificate(directory: Path, *, device_id: str, days: int = 365, profile: str = "meadow-f7",
                        now: datetime | None = None) -> Generated:
    """A new self-signed certificate for the key already in ``directory`` (``generate --keep-key``): same key,
    same pass file; only ``client_cert.pem`` is replaced, in one atomic step.

    Raises:
        CredentialError: a bad device id or validity; no key, or a key the board cannot use (it must parse
            with the pass file and be able to sign) — `check` says why.
    """
    from cryptography.hazmat.primitives.asymmetric import rsa

    from hatch_meadow.creds.files import read_file
    from hatch_meadow.creds.keycheck import check_key
    from hatch_meadow.creds.profiles import PROFILES

    problem = device_id_problem(device_id)
    if problem:
        raise CredentialError(f"device id {device_id!r} {problem}", hint="pass a valid --device-id")
    if not 1 <= days <= 36500:
        raise CredentialError(f"validity of {days} days is out of range", hint="use 1 to 36500 days")
    key_file, pass_file = read_file(directory, PRIVATE_KEY), read_file(directory, PASS_FILE)
    if key_file.data is None:
        raise CredentialError(f"{directory / PRIVATE_KEY}: {key_file.problem or 'no such file'}; --keep-key needs "
                              "the key", hint="leave out --keep-key to make a new key and certificate")
    verdict = check_key(key_file.data, pass_file.data or None, PROFILES[profile], pass_missing=pass_file.data is None)
    key = verdict.key
    if not verdict.accepted or not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) or any(
            f.severity == "error" for f in verdict.findings):
        reason = next((f.message for f in verdict.findings if f.severity == "error"), "it cannot sign")
        raise CredentialError(f"{directory / PRIVATE_KEY}: the key cannot be reused ({reason})",
                              hint="`hatch-meadow fix` repairs a readable key; or leave out --keep-key")
    certificate = build_client_certificate(key, device_id, days, now or datetime.now(timezone.utc))
    written = write_credentials(directory, {CLIENT_CERT: certificate.pem}, force=True)
    kind = f"rsa-{key.key_size}" if isinstance(key, rsa.RSAPrivateKey) else f"ec-{key.curve.name}"
    return Generated(
        directory=directory, files=tuple(written), device_id=device_id, key_type=kind,
        key_encryption="kept", passphrase_source="kept", not_after=certificate.not_after,
        sha1=certificate.sha1, sha256=certificate.sha256,
    )
