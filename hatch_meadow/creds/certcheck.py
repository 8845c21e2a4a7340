"""Predict whether Mbed TLS parses ``client_cert.pem`` (spec §5.2), and read what the checks need.

``mbedtls_x509_crt_parse`` takes the PEM path only when the buffer contains
``-----BEGIN CERTIFICATE-----``; then every such block must parse (one failure makes the return value
positive, which Meadow treats as failure). Otherwise the buffer is parsed as one DER certificate.
The certificate is walked with our own DER reader: cryptography refuses some certificates that
Mbed TLS accepts (negative serials, for one) and hides details that Mbed TLS rejects on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Final

from hatch_meadow.creds import der, oids
from hatch_meadow.creds.fingerprints import sha1_thumbprint, sha256_thumbprint
from hatch_meadow.creds.mbedtls_errors import describe
from hatch_meadow.creds.pem import read_block
from hatch_meadow.creds.profiles import Profile
from hatch_meadow.findings import Finding
from hatch_meadow.names import CLIENT_CERT

#: Signature algorithms in Mbed TLS's default config: RSA PKCS#1 v1.5 (MD5, SHA-1, SHA-2), RSASSA-PSS,
#: ECDSA (SHA-1, SHA-2). Ed25519/Ed448 and anything else: X509_UNKNOWN_SIG_ALG.
SIGNATURES: Final = {
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption", "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.3.14.3.2.29": "sha1WithRSASignature", "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption", "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption", "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1", "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256", "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
}
_BASE_EXTENSIONS: Final = frozenset({
    oids.EXT_BASIC_CONSTRAINTS, oids.EXT_KEY_USAGE, oids.EXT_EXTENDED_KEY_USAGE, oids.EXT_SUBJECT_ALT_NAME,
    oids.EXT_NS_CERT_TYPE, oids.EXT_CERTIFICATE_POLICIES,
})


@dataclass(frozen=True, slots=True)
class CertInfo:
    """What the checks need from one certificate."""

    der: bytes
    version: int
    signature: str
    key_algorithm: str
    spki: bytes
    subject_cn: str | None
    not_before: datetime
    not_after: datetime
    extensions: tuple[tuple[str, bool, bytes], ...]  # (oid, critical, value)

    @property
    def sha1(self) -> str:
        """Uppercase hex SHA-1 of the DER certificate (Azure's older thumbprint)."""
        return sha1_thumbprint(self.der)

    @property
    def sha256(self) -> str:
        """Uppercase hex SHA-256 of the DER certificate (Azure's thumbprint)."""
        return sha256_thumbprint(self.der)


@dataclass
class CertVerdict:
    """The prediction for the certificate file."""

    accepted: bool = False
    certificates: list[CertInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def reject(self, code: str, message: str, fix: str | None, error: str | None = None) -> CertVerdict:
        self.accepted = False
        tail = f"; Mbed TLS: {describe(error)}" if error else ""
        self.findings.append(Finding(code, "error", CLIENT_CERT, message + tail, fix))
        return self


def parse_certificate(data: bytes, *, allow_trailing: bool = False) -> CertInfo:
    """Read one DER certificate. Raises der.DerError for anything malformed."""
    try:
        return _parse_certificate(data, allow_trailing=allow_trailing)
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, der.DerError):
            raise
        raise der.DerError(f"malformed certificate ({exc.__class__.__name__})") from exc


def _parse_certificate(data: bytes, *, allow_trailing: bool) -> CertInfo:
    outer, end = der.read_tlv(data)
    if end != len(data) and not allow_trailing:
        raise der.DerError("trailing bytes after the certificate")
    tbs, sig_alg, _ = der.expect(outer, der.SEQUENCE, "Certificate").children()[:3]
    fields = der.expect(tbs, der.SEQUENCE, "TBSCertificate").children()
    version = 1
    if fields and fields[0].tag == 0xA0:
        version = int.from_bytes(der.read_single(fields[0].value).value, "big") + 1
        fields = fields[1:]
    if version not in (1, 2, 3):
        raise der.DerError(f"unknown certificate version {version}")
    _serial, _sig, _issuer, validity, subject, spki = fields[:6]
    extensions: list[tuple[str, bool, bytes]] = []
    for item in fields[6:]:
        if item.tag == 0xA3:
            for ext in der.read_single(item.value).children():
                parts = ext.children()
                critical = len(parts) == 3 and parts[1].tag == der.BOOLEAN and parts[1].value != b"\x00"
                extensions.append((der.decode_oid(parts[0].value), critical, parts[-1].value))
    key_oid, _ = der.algorithm(spki.children()[0])
    not_before, not_after = (_time(t) for t in validity.children()[:2])
    return CertInfo(
        der=outer.raw, version=version, signature=der.algorithm(sig_alg)[0], key_algorithm=key_oid,
        spki=spki.raw, subject_cn=_common_name(subject), not_before=not_before, not_after=not_after,
        extensions=tuple(extensions),
    )


def _time(item: der.Tlv) -> datetime:
    text = item.value.decode("ascii")
    if item.tag == der.UTC_TIME:
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif item.tag != der.GENERALIZED_TIME:
        raise der.DerError("bad time")
    digits = text.rstrip("Z")[:14]  # read by hand: strptime costs `check`, a short command, ~1 ms to import
    if len(digits) != 14 or not digits.isascii() or not digits.isdigit():
        raise der.DerError("bad time")
    year, month, day, hour, minute, second = (int(digits[i:i + w]) for i, w in
                                              ((0, 4), (4, 2), (6, 2), (8, 2), (10, 2), (12, 2)))
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)  # ValueError when out of range


def _common_name(name: der.Tlv) -> str | None:
    for rdn in name.children():
        for attribute in rdn.children():
            oid_tlv, value = attribute.children()[:2]
            if der.decode_oid(oid_tlv.value) == oids.COMMON_NAME:
                codec = {0x1E: "utf-16-be", 0x14: "latin-1"}.get(value.tag, "utf-8")
                return value.value.decode(codec, "replace")
    return None


def check_certificate(data: bytes, profile: Profile) -> CertVerdict:
    """Predict ``mbedtls_x509_crt_parse(data + NUL)`` under ``profile`` and collect the certificates."""
    verdict = CertVerdict()
    fix = "re-create it: `hatch-meadow generate --force` (or openssl req -x509 with an RSA or EC key)"
    if not data.strip():
        return verdict.reject("cert-empty", f"{CLIENT_CERT} is empty", "run `hatch-meadow generate`")
    if b"-----BEGIN CERTIFICATE-----" in data:
        start, index = 0, 0
        while True:
            block = read_block(data, "CERTIFICATE", start)
            if block.status == "absent":
                break
            index += 1
            start = block.end
            if block.status != "ok" or block.body is None or block.encrypted:
                verdict.reject("cert-pem-framing", f"certificate block #{index} is broken: {block.detail}", fix,
                               "PEM_INVALID_DATA")
                continue
            _check_one(verdict, block.body, index, profile, fix)
        if not verdict.certificates and not verdict.findings:
            return verdict.reject("cert-pem-framing", "the BEGIN CERTIFICATE line is not followed by a line break",
                                  fix, "X509_INVALID_FORMAT")
    elif b"-----BEGIN TRUSTED CERTIFICATE-----" in data:
        return verdict.reject("cert-trusted-format", "the file holds a 'TRUSTED CERTIFICATE' (openssl -trustout), "
                              "which Mbed TLS does not read", "convert it: openssl x509 -in client_cert.pem -out "
                              "client_cert.pem.new (then rename)", "X509_INVALID_FORMAT")
    elif data[:1] == b"\x30":
        _check_one(verdict, data, 1, profile, fix, trailing_ok=True)
        if verdict.certificates:
            verdict.findings.append(Finding("cert-der", "info", CLIENT_CERT, "the certificate is DER (binary); Mbed "
                                            "TLS reads it, but PEM is the usual form",
                                            "openssl x509 -inform DER -in client_cert.pem -out cert.pem"))
    else:
        placeholder = b"replace this file" in data.lower() or all(32 <= b < 127 or b in (9, 10, 13) for b in data[:512])
        if placeholder:
            return verdict.reject("cert-placeholder", f"{CLIENT_CERT} is text without a certificate (a placeholder?); "
                                  "deploying it would overwrite the board's working credentials",
                                  "put the real certificate here or run `hatch-meadow generate`", "X509_INVALID_FORMAT")
        return verdict.reject("cert-garbage", f"{CLIENT_CERT} is neither PEM nor a DER certificate", fix,
                              "X509_INVALID_FORMAT")
    verdict.accepted = not any(f.severity == "error" for f in verdict.findings)
    return verdict


def _check_one(verdict: CertVerdict, body: bytes, index: int, profile: Profile, fix: str,
               *, trailing_ok: bool = False) -> None:
    where = f"certificate #{index}" if index > 1 or verdict.certificates else "the certificate"
    try:
        info = parse_certificate(body, allow_trailing=trailing_ok)
    except (der.DerError, ValueError, IndexError) as exc:
        verdict.reject("cert-invalid", f"{where} does not parse ({exc})", fix, "X509_INVALID_FORMAT")
        return
    if info.signature in (oids.SIG_ED25519, oids.SIG_ED448) or info.signature not in SIGNATURES:
        name = oids.KEY_ALGORITHMS.get(info.signature, info.signature)
        verdict.reject("cert-signature-unsupported", f"{where} is signed with {name}, which Mbed TLS cannot read",
                       fix, "X509_UNKNOWN_SIG_ALG")
        return
    if info.key_algorithm in (oids.X25519, oids.X448) and profile.rfc8410_keys:
        pass  # 3.5+ parses it (§5.3); the key's own verdict says it cannot sign
    elif info.key_algorithm not in (oids.RSA, oids.EC_PUBLIC_KEY):
        name = oids.KEY_ALGORITHMS.get(info.key_algorithm, info.key_algorithm)
        verdict.reject("cert-key-unsupported", f"{where} carries a {name} public key, which Mbed TLS cannot use",
                       fix, "PK_UNKNOWN_PK_ALG")
        return
    known = set(_BASE_EXTENSIONS)
    if profile.ski_aki_critical_ok:
        known |= {oids.EXT_SUBJECT_KEY_IDENTIFIER, oids.EXT_AUTHORITY_KEY_IDENTIFIER}
    for oid, critical, value in info.extensions:
        name = oids.EXTENSION_NAMES.get(oid, oid)
        if oid == oids.EXT_CERTIFICATE_POLICIES and critical and _policies(value) != [oids.ANY_POLICY]:
            verdict.reject("cert-critical-policies", f"{where} has a critical certificatePolicies extension with a "
                           "policy other than anyPolicy", fix, "X509_FEATURE_UNAVAILABLE")
            return
        if critical and oid not in known:
            verdict.reject("cert-critical-extension", f"{where} has a critical {name} extension, which Mbed TLS "
                           "does not support", fix, "X509_INVALID_EXTENSIONS")
            return
    verdict.certificates.append(info)


def _policies(value: bytes) -> list[str]:
    try:
        return [der.decode_oid(p.children()[0].value) for p in der.read_single(value).children()]
    except (der.DerError, IndexError):
        return []


def client_auth_problem(info: CertInfo) -> str | None:
    """Why a server might refuse this certificate for client authentication, or None."""
    for oid, _critical, value in info.extensions:
        if oid == oids.EXT_EXTENDED_KEY_USAGE:
            try:
                usages = {der.decode_oid(u.value) for u in der.read_single(value).children()}
            except der.DerError:
                return None
            if oids.CLIENT_AUTH not in usages and oids.ANY_EXTENDED_KEY_USAGE not in usages:
                return "its extendedKeyUsage does not include clientAuth"
    return None
