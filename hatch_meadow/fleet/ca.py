"""The fleet CA: make one (``fleet init-ca``) and load it for signing (``fleet issue``, ``import-certs``).

``CA/ca_key.pem`` is PKCS#8, encrypted with the best encryption ``cryptography`` offers (AES-256-CBC
with a PBKDF2 key, what ``openssl`` and every CA tool read); the board never sees it, so the board's
Mbed TLS limits do not apply. ``CA/ca_cert.pem`` is a self-signed X.509 v3 CA certificate:
basicConstraints CA:TRUE pathlen:0 (it signs devices, never other CAs), keyUsage keyCertSign + cRLSign,
and a subject key identifier that every device certificate names as its authority key identifier.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from hatch_meadow.creds.certbuild import BACKDATE
from hatch_meadow.errors import CredentialError, InputError

CA_KEY: Final = "ca_key.pem"
CA_CERT: Final = "ca_cert.pem"
CA_PASSPHRASE_ENV: Final = "HATCH_MEADOW_CA_PASSPHRASE"
CA_KEY_TYPES: Final = ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096")
DEFAULT_CA_DAYS: Final = 3650
MIN_CA_PASSPHRASE_BYTES: Final = 8

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class FleetCA:
    """A loaded CA: its key (in memory only), its certificate and what device certificates copy from it."""

    directory: Path
    key: SigningKey
    certificate: x509.Certificate

    @property
    def subject(self) -> x509.Name:
        return self.certificate.subject

    @property
    def key_identifier(self) -> x509.AuthorityKeyIdentifier:
        ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)

    @property
    def cert_path(self) -> Path:
        return self.directory / CA_CERT

    def key_der(self) -> bytes:
        """The key, unencrypted DER, to hand to worker processes over a pipe (never to disk)."""
        return self.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def ca_passphrase(environ: dict[str, str] | os._Environ[str], passphrase_file: Path | None) -> bytes | None:
    """The CA passphrase from ``--passphrase-file`` (first line, no line break) or $HATCH_MEADOW_CA_PASSPHRASE;
    None when neither is given. Never from argv (it would show in ``ps`` and shell history).

    Raises:
        InputError: the file cannot be read, or the passphrase is empty or too short.
    """
    if passphrase_file is not None:
        try:
            raw = passphrase_file.read_bytes()
        except OSError as exc:
            raise InputError(f"{passphrase_file}: cannot read the CA passphrase file ({exc.strerror})",
                             hint="pass a readable file holding the passphrase") from exc
        value = raw.splitlines()[0] if raw.splitlines() else b""
        origin = str(passphrase_file)
    elif CA_PASSPHRASE_ENV in environ:
        value, origin = os.fsencode(environ[CA_PASSPHRASE_ENV]), f"${CA_PASSPHRASE_ENV}"
    else:
        return None
    if len(value) < MIN_CA_PASSPHRASE_BYTES:
        raise InputError(f"{origin}: the CA passphrase is {'empty' if not value else 'shorter than 8 bytes'}",
                         hint="use a long random passphrase (e.g. `openssl rand -base64 24`)")
    return value


def _new_ca_key(key_type: str) -> SigningKey:
    if key_type.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    return ec.generate_private_key(ec.SECP256R1() if key_type == "ec-p256" else ec.SECP384R1())


def init_ca(directory: Path, *, passphrase: bytes | None, name: str = "hatch-meadow fleet CA",
            key_type: str = "ec-p256", days: int = DEFAULT_CA_DAYS, now: datetime | None = None) -> FleetCA:
    """Create ``directory/ca_key.pem`` (0600, encrypted) and ``directory/ca_cert.pem``; refuse to overwrite.

    Raises:
        InputError: no passphrase, a bad key type, name or validity, or a CA already in ``directory``.
        CredentialError: the files cannot be written (nothing is left half-written).
    """
    from hatch_meadow.creds.files import SECRET_MODE, write_new

    if passphrase is None:
        raise InputError("the CA key needs a passphrase; none was given",
                         hint=f"set ${CA_PASSPHRASE_ENV} or pass --passphrase-file FILE (never on the command line)")
    if key_type not in CA_KEY_TYPES:
        raise InputError(f"unknown CA key type {key_type!r}", hint=f"use one of {', '.join(CA_KEY_TYPES)}")
    if not 1 <= days <= 36500:
        raise InputError(f"validity of {days} days is out of range", hint="use 1 to 36500 days")
    if not name.strip() or len(name) > 64 or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise InputError(f"CA name {name!r} is not usable: 1 to 64 printable characters",
                         hint="pass --name with a short plain name")
    existing = [n for n in (CA_KEY, CA_CERT) if os.path.lexists(directory / n)]
    if existing:
        raise InputError(f"{directory}: {', '.join(existing)} already exist; refusing to overwrite a CA (every "
                         "device certificate it signed depends on it)", hint="choose another --dir")
    moment = now or datetime.now(timezone.utc)
    key = _new_ca_key(key_type)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - BACKDATE)
        .not_valid_after(moment + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(passphrase))
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_new(directory / CA_KEY, key_pem, SECRET_MODE)
        try:
            write_new(directory / CA_CERT, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
        except BaseException:
            (directory / CA_KEY).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CredentialError(f"{directory}: cannot write the CA ({exc.strerror}); nothing was kept",
                              hint="check the folder's permissions and free space") from exc
    return FleetCA(directory, key, certificate)


def load_ca(directory: Path, passphrase: bytes | None, *, now: datetime | None = None) -> FleetCA:
    """Load and check the CA in ``directory`` for signing.

    Raises:
        InputError: files missing or unreadable, an encrypted key without (or with the wrong) passphrase,
            a certificate that is not a CA, expired or not yet valid, or a key that does not match it.
    """
    key_path, cert_path = directory / CA_KEY, directory / CA_CERT
    cert = load_ca_certificate(directory)
    try:
        key_pem = key_path.read_bytes()
    except OSError as exc:
        raise InputError(f"{key_path}: cannot read the CA key ({exc.strerror})",
                         hint="`hatch-meadow fleet init-ca --dir DIR` makes a CA") from exc
    encrypted = b"ENCRYPTED" in key_pem
    if encrypted and passphrase is None:
        raise InputError(f"{key_path}: the CA key is encrypted and no passphrase was given",
                         hint=f"set ${CA_PASSPHRASE_ENV} or pass --passphrase-file FILE")
    try:
        key = serialization.load_pem_private_key(key_pem, passphrase if encrypted else None)
    except (ValueError, TypeError) as exc:
        reason = "the passphrase is wrong or the file is damaged" if encrypted else "it is not a PEM private key"
        raise InputError(f"{key_path}: cannot load the CA key ({reason})",
                         hint=f"check ${CA_PASSPHRASE_ENV} / --passphrase-file") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InputError(f"{key_path}: the CA key is a {type(key).__name__}; only RSA and EC keys can sign for "
                         "Meadow boards", hint="use an RSA or EC CA key")
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise InputError(f"{key_path} does not belong to {cert_path} (their public keys differ)",
                         hint="put the CA's own key and certificate in the folder")
    moment = now or datetime.now(timezone.utc)
    if cert.not_valid_after_utc < moment:
        raise InputError(f"{cert_path}: the CA certificate expired on {cert.not_valid_after_utc:%Y-%m-%d} UTC; "
                         "devices it signs would be refused", hint="make a new CA (`fleet init-ca`) and re-issue")
    if cert.not_valid_before_utc > moment:
        raise InputError(f"{cert_path}: the CA certificate is valid only from "
                         f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC", hint="check this machine's clock")
    return FleetCA(directory, key, cert)


def load_ca_certificate(directory: Path) -> x509.Certificate:
    """The CA certificate alone (enough to verify devices; no passphrase needed).

    Raises:
        InputError: missing, unreadable, not a certificate, not a CA or without a subject key identifier.
    """
    cert_path = directory / CA_CERT
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except OSError as exc:
        raise InputError(f"{cert_path}: cannot read the CA certificate ({exc.strerror})",
                         hint="`hatch-meadow fleet init-ca --dir DIR` makes a CA; --ca names that folder") from exc
    except ValueError as exc:
        raise InputError(f"{cert_path}: not a PEM certificate", hint="put the CA certificate (PEM) there") from exc
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise InputError(f"{cert_path}: not a CA certificate (basicConstraints CA:TRUE and a subject key "
                         "identifier are needed)", hint="use the CA made by `hatch-meadow fleet init-ca`")
    return cert


def _spki(public_key: object) -> bytes:
    assert isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def issued_by(certificate: x509.Certificate, ca_certificate: x509.Certificate) -> bool:
    """True when ``certificate`` carries a valid signature of the CA (and names it as issuer)."""
    if certificate.issuer != ca_certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(ca_certificate)
    except (InvalidSignature, ValueError, TypeError):  # a foreign signature, or an algorithm that cannot match
        return False
    return True
