"""The device certificate, encoded as DER here and signed with ``cryptography``'s key API.

Why not ``cryptography.x509``: importing it costs ~21 ms, more than ``generate``'s whole work for an EC key,
and ``generate`` is a short command run in loops. The profile is small and fixed (RFC 5280):

* X.509 v3, a random positive 159-bit serial, SHA-256 (ECDSA or RSA PKCS#1 v1.5);
* subject CN = the device id (UTF8String); issuer = the subject (self-signed) or the fleet CA's name;
* validity from 5 minutes ago (a board or server whose clock runs behind) for ``days`` days, UTCTime before
  2050, GeneralizedTime from then (§4.1.2.5);
* extensions: basicConstraints CA:FALSE (critical), keyUsage digitalSignature (+ keyEncipherment for RSA;
  critical), extendedKeyUsage clientAuth, subjectKeyIdentifier (SHA-1 of the public key bits, §4.2.1.2
  method 1) and, when a CA signs, authorityKeyIdentifier = the CA's key identifier.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, TypeAlias

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hatch_meadow.creds import der
from hatch_meadow.creds.fingerprints import certificate_pem, digest, sha1_thumbprint, sha256_thumbprint

if TYPE_CHECKING:  # rsa is imported when an RSA key signs: an EC `generate` does without it
    from cryptography.hazmat.primitives.asymmetric import rsa

SigningKey: TypeAlias = "rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey"

BACKDATE: Final = timedelta(minutes=5)
OID_COMMON_NAME: Final = "2.5.4.3"
OID_ECDSA_SHA256: Final = "1.2.840.10045.4.3.2"
OID_RSA_SHA256: Final = "1.2.840.113549.1.1.11"
OID_BASIC_CONSTRAINTS: Final = "2.5.29.19"
OID_KEY_USAGE: Final = "2.5.29.15"
OID_EXT_KEY_USAGE: Final = "2.5.29.37"
OID_SUBJECT_KEY_ID: Final = "2.5.29.14"
OID_AUTHORITY_KEY_ID: Final = "2.5.29.35"
OID_CLIENT_AUTH: Final = "1.3.6.1.5.5.7.3.2"
#: keyUsage as a DER BIT STRING: digitalSignature (bit 0); with keyEncipherment (bit 2) for RSA.
KEY_USAGE_EC: Final = b"\x03\x02\x07\x80"
KEY_USAGE_RSA: Final = b"\x03\x02\x05\xa0"


@dataclass(frozen=True, slots=True)
class CertIssuer:
    """A CA that signs device certificates: its subject name (DER), its key and its key identifier."""

    name_der: bytes
    key: SigningKey
    key_id: bytes


@dataclass(frozen=True, slots=True)
class BuiltCertificate:
    """The certificate as DER, with the facts callers report."""

    der: bytes
    serial: int
    not_before: datetime
    not_after: datetime

    @property
    def pem(self) -> bytes:
        return certificate_pem(self.der)

    @property
    def sha1(self) -> str:
        return sha1_thumbprint(self.der)

    @property
    def sha256(self) -> str:
        return sha256_thumbprint(self.der)


def build_client_certificate(key: SigningKey, device_id: str, days: int, now: datetime,
                             issuer: CertIssuer | None = None) -> BuiltCertificate:
    """An X.509 v3 TLS client certificate for ``key`` with CN = ``device_id``, self-signed or signed by
    ``issuer``."""
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    signer = key if issuer is None else issuer.key
    subject = name_with_cn(device_id)
    serial = int.from_bytes(os.urandom(20), "big") >> 1  # positive, at most 159 bits (RFC 5280 §4.1.2.2: 20 octets)
    not_before, not_after = now - BACKDATE, now + timedelta(days=days)
    extensions = [
        _extension(OID_BASIC_CONSTRAINTS, True, _seq()),
        _extension(OID_KEY_USAGE, True, KEY_USAGE_EC if isinstance(key, ec.EllipticCurvePrivateKey) else KEY_USAGE_RSA),
        _extension(OID_EXT_KEY_USAGE, False, _seq(_oid(OID_CLIENT_AUTH))),
        _extension(OID_SUBJECT_KEY_ID, False, _tlv(0x04, key_identifier(spki))),
    ]
    if issuer is not None:
        extensions.append(_extension(OID_AUTHORITY_KEY_ID, False, _seq(_tlv(0x80, issuer.key_id))))
    algorithm = _signature_algorithm(signer)
    tbs = _seq(
        _tlv(0xA0, _integer(2)),  # v3
        _integer(serial),
        algorithm,
        subject if issuer is None else issuer.name_der,
        _seq(_time(not_before), _time(not_after)),
        subject,
        spki,
        _tlv(0xA3, _seq(*extensions)),
    )
    if isinstance(signer, ec.EllipticCurvePrivateKey):
        signature = signer.sign(tbs, ec.ECDSA(hashes.SHA256()))
    else:
        from cryptography.hazmat.primitives.asymmetric import padding

        signature = signer.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    certificate = _seq(tbs, algorithm, _tlv(0x03, b"\x00" + signature))
    return BuiltCertificate(certificate, serial, not_before.replace(microsecond=0), not_after.replace(microsecond=0))


def key_identifier(spki: bytes) -> bytes:
    """RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits."""
    bits = der.read_single(spki).children()[1]
    return digest(hashes.SHA1(), bits.value[1:])


def name_with_cn(common_name: str) -> bytes:
    """A Name with one RDN: CN as UTF8String."""
    return _seq(_tlv(0x31, _seq(_oid(OID_COMMON_NAME), _tlv(0x0C, common_name.encode("utf-8")))))


def _signature_algorithm(signer: SigningKey) -> bytes:
    if isinstance(signer, ec.EllipticCurvePrivateKey):
        return _seq(_oid(OID_ECDSA_SHA256))  # parameters absent (RFC 5758)
    return _seq(_oid(OID_RSA_SHA256), b"\x05\x00")  # parameters NULL (RFC 4055)


def _extension(oid: str, critical: bool, value: bytes) -> bytes:  # noqa: FBT001 - DER's own field order
    return _seq(_oid(oid), *([b"\x01\x01\xff"] if critical else []), _tlv(0x04, value))


def _time(moment: datetime) -> bytes:
    if 1950 <= moment.year < 2050:
        return _tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())
    return _tlv(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode())


def _integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # one spare byte keeps it positive
    while len(body) > 1 and body[0] == 0 and body[1] < 0x80:
        body = body[1:]
    return _tlv(0x02, body)


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + content
