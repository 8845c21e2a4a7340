"""Object identifiers that decide what Mbed TLS accepts (names as in RFC 8018 / RFC 5280 / Mbed TLS)."""

from __future__ import annotations

from typing import Final

RSA: Final = "1.2.840.113549.1.1.1"
RSA_PSS: Final = "1.2.840.113549.1.1.10"
EC_PUBLIC_KEY: Final = "1.2.840.10045.2.1"
DSA: Final = "1.2.840.10040.4.1"
X25519: Final = "1.3.101.110"
X448: Final = "1.3.101.111"
ED25519: Final = "1.3.101.112"
ED448: Final = "1.3.101.113"
KEY_ALGORITHMS: Final = {
    RSA: "RSA", RSA_PSS: "RSA-PSS", EC_PUBLIC_KEY: "EC", DSA: "DSA",
    X25519: "X25519", X448: "X448", ED25519: "Ed25519", ED448: "Ed448",
}

CURVES: Final = {
    "1.2.840.10045.3.1.7": "secp256r1", "1.3.132.0.34": "secp384r1", "1.3.132.0.35": "secp521r1",
    "1.2.840.10045.3.1.1": "secp192r1", "1.3.132.0.33": "secp224r1", "1.3.132.0.10": "secp256k1",
    "1.3.132.0.31": "secp192k1", "1.3.132.0.32": "secp224k1",
    "1.3.36.3.3.2.8.1.1.7": "brainpoolP256r1", "1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1",
    "1.3.36.3.3.2.8.1.1.13": "brainpoolP512r1",
}
#: Curves a TLS server (Azure IoT Hub and most others) will actually accept for a client certificate.
COMMON_CURVES: Final = frozenset({"secp256r1", "secp384r1", "secp521r1"})

PBES2: Final = "1.2.840.113549.1.5.13"
PBKDF2: Final = "1.2.840.113549.1.5.12"
SCRYPT: Final = "1.3.6.1.4.1.11591.4.11"
PRFS: Final = {
    "1.2.840.113549.2.7": "hmacWithSHA1", "1.2.840.113549.2.8": "hmacWithSHA224",
    "1.2.840.113549.2.9": "hmacWithSHA256", "1.2.840.113549.2.10": "hmacWithSHA384",
    "1.2.840.113549.2.11": "hmacWithSHA512",
}
PBES2_CIPHERS: Final = {
    "1.3.14.3.2.7": "des-cbc", "1.2.840.113549.3.7": "des-ede3-cbc",
    "2.16.840.1.101.3.4.1.2": "aes-128-cbc", "2.16.840.1.101.3.4.1.22": "aes-192-cbc",
    "2.16.840.1.101.3.4.1.42": "aes-256-cbc",
}
PKCS12_PBE: Final = {
    "1.2.840.113549.1.12.1.1": "pbeWithSHAAnd128BitRC4", "1.2.840.113549.1.12.1.2": "pbeWithSHAAnd40BitRC4",
    "1.2.840.113549.1.12.1.3": "pbeWithSHAAnd3-KeyTripleDES-CBC",
    "1.2.840.113549.1.12.1.4": "pbeWithSHAAnd2-KeyTripleDES-CBC",
    "1.2.840.113549.1.12.1.5": "pbeWithSHAAnd128BitRC2-CBC", "1.2.840.113549.1.12.1.6": "pbewithSHAAnd40BitRC2-CBC",
}
PBES1: Final = {
    "1.2.840.113549.1.5.1": "pbeWithMD2AndDES-CBC", "1.2.840.113549.1.5.3": "pbeWithMD5AndDES-CBC",
    "1.2.840.113549.1.5.4": "pbeWithMD2AndRC2-CBC", "1.2.840.113549.1.5.6": "pbeWithMD5AndRC2-CBC",
    "1.2.840.113549.1.5.10": "pbeWithSHA1AndDES-CBC", "1.2.840.113549.1.5.11": "pbeWithSHA1AndRC2-CBC",
}

SIG_ED25519: Final = ED25519
SIG_ED448: Final = ED448

EXT_BASIC_CONSTRAINTS: Final = "2.5.29.19"
EXT_KEY_USAGE: Final = "2.5.29.15"
EXT_EXTENDED_KEY_USAGE: Final = "2.5.29.37"
EXT_SUBJECT_ALT_NAME: Final = "2.5.29.17"
EXT_NS_CERT_TYPE: Final = "2.16.840.1.113730.1.1"
EXT_CERTIFICATE_POLICIES: Final = "2.5.29.32"
EXT_SUBJECT_KEY_IDENTIFIER: Final = "2.5.29.14"
EXT_AUTHORITY_KEY_IDENTIFIER: Final = "2.5.29.35"
ANY_POLICY: Final = "2.5.29.32.0"
EXTENSION_NAMES: Final = {
    EXT_BASIC_CONSTRAINTS: "basicConstraints", EXT_KEY_USAGE: "keyUsage",
    EXT_EXTENDED_KEY_USAGE: "extendedKeyUsage", EXT_SUBJECT_ALT_NAME: "subjectAltName",
    EXT_NS_CERT_TYPE: "nsCertType", EXT_CERTIFICATE_POLICIES: "certificatePolicies",
    EXT_SUBJECT_KEY_IDENTIFIER: "subjectKeyIdentifier", EXT_AUTHORITY_KEY_IDENTIFIER: "authorityKeyIdentifier",
    "2.5.29.30": "nameConstraints", "2.5.29.36": "policyConstraints", "2.5.29.54": "inhibitAnyPolicy",
    "2.5.29.31": "cRLDistributionPoints", "1.3.6.1.5.5.7.1.1": "authorityInfoAccess",
}
CLIENT_AUTH: Final = "1.3.6.1.5.5.7.3.2"
ANY_EXTENDED_KEY_USAGE: Final = "2.5.29.37.0"
COMMON_NAME: Final = "2.5.4.3"
