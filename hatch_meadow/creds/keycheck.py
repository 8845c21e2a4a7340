"""Predict whether Mbed TLS parses ``private_key.pem`` with the pass file as it is, and why not.

Follows ``mbedtls_pk_parse_key``'s order (spec §2.1): PEM ``RSA PRIVATE KEY``, ``EC PRIVATE KEY``,
``PRIVATE KEY``, ``ENCRYPTED PRIVATE KEY`` (each found anywhere in the buffer), then DER. Decryption
uses the exact pass-file bytes, as Meadow does; a failure is then re-tried with a trailing newline
stripped, to tell "your pass file ends with a newline" from "wrong passphrase".
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from hatch_meadow.creds import der, legacypem
from hatch_meadow.creds.cbc import DecryptError
from hatch_meadow.creds.keyverdict import (
    LOAD_ERRORS,
    RECODE_FIX,
    KeyVerdict,
    check_key_type,
    inner_pkcs8,
    load_key_der,
    mbedtls_error,
    require_password,
    wrong_password,
)
from hatch_meadow.creds.pem import PemRead, labels_in, read_block
from hatch_meadow.creds.profiles import Profile
from hatch_meadow.names import PRIVATE_KEY

#: The verdict and its shared steps live in :mod:`keyverdict`; these names stay importable from here.
__all__ = ["LOAD_ERRORS", "RECODE_FIX", "KeyVerdict", "check_key", "load_key_der", "mbedtls_error"]


def check_key(data: bytes, password: bytes | None, profile: Profile, *, pass_missing: bool = False) -> KeyVerdict:
    """Predict ``mbedtls_pk_parse_key(data + NUL, password)`` under ``profile``.

    Args:
        data: the key file's bytes.
        password: the pass file's exact bytes; None or b"" when the file is absent or empty.
        profile: the Mbed TLS build to predict for.
        pass_missing: the pass file does not exist at all (Meadow then passes length -1).
    """
    verdict = KeyVerdict()
    pwd = password or None
    for label, kind in (("RSA PRIVATE KEY", "RSA"), ("EC PRIVATE KEY", "EC")):
        block = read_block(data, label)
        if block.status != "absent":
            return _legacy_block(verdict, block, kind, pwd, profile, pass_missing=pass_missing)
    block = read_block(data, "PRIVATE KEY")
    if block.status != "absent":
        if block.status != "ok" or block.body is None:
            return verdict.reject("PEM_INVALID_DATA", "key-pem-framing",
                                  f"the PRIVATE KEY block is broken: {block.detail}",
                                  "re-export the key (openssl pkey -in old.pem -out private_key.pem)")
        verdict.encoding = "PKCS#8 PRIVATE KEY (unencrypted)"
        return inner_pkcs8(verdict, block.body, profile)
    block = read_block(data, "ENCRYPTED PRIVATE KEY")
    if block.status != "absent":
        if block.status != "ok" or block.body is None:
            return verdict.reject("PEM_INVALID_DATA", "key-pem-framing",
                                  f"the ENCRYPTED PRIVATE KEY block is broken: {block.detail}", RECODE_FIX)
        verdict.encrypted = True
        return _encrypted_pkcs8(verdict, block.body, pwd, profile, pass_missing=pass_missing)
    return _not_pem(verdict, data, pwd, profile, pass_missing=pass_missing)


def _legacy_block(verdict: KeyVerdict, block: PemRead, kind: str, pwd: bytes | None, profile: Profile,
                  *, pass_missing: bool) -> KeyVerdict:
    verdict.encoding = f"legacy PEM {block.label}"
    verdict.container = "legacy-pem"
    if block.status == "unknown-cipher":
        verdict.encrypted = True
        return verdict.reject("PEM_UNKNOWN_ENC_ALG", "key-legacy-cipher",
                              f"the key is encrypted with '{block.detail}', which Mbed TLS cannot decrypt "
                              "(only DES-EDE3-CBC, DES-CBC and AES-128/192/256-CBC)", RECODE_FIX)
    if block.status != "ok" or block.body is None or (block.encrypted and block.iv is None):
        return verdict.reject("PEM_INVALID_DATA", "key-pem-framing", f"the {block.label} block is broken: "
                              f"{block.detail}", "re-export the key with openssl or `hatch-meadow fix`")
    body = block.body
    dek_name, iv = block.dek_name, block.iv
    if block.encrypted and dek_name is not None and iv is not None:
        verdict.encrypted = True
        verdict.encoding += f", {dek_name}"
        verdict.dek = dek_name
        if legacypem.LEGACY_CIPHERS[dek_name].needs_des and not profile.des:
            return verdict.reject("PEM_UNKNOWN_ENC_ALG", "key-des-unavailable",
                                  f"the key is encrypted with {dek_name}, but the '{profile.name}' profile "
                                  "has no DES (stock ESP-IDF, Mbed TLS 4)", RECODE_FIX)
        password = require_password(verdict, pwd, pass_missing=pass_missing)
        if password is None:
            return verdict
        decrypted = _legacy_decrypt(body, password, dek_name, iv)
        if decrypted is None:
            return wrong_password(verdict, password, lambda p: _legacy_decrypt(body, p, dek_name, iv))
        body = decrypted
    return _load_traditional(verdict, body, kind, profile)


def _legacy_decrypt(body: bytes, password: bytes, dek_name: str, iv: bytes) -> bytes | None:
    try:
        plain = legacypem.decrypt(body, password, dek_name, iv)
        der.read_single(plain)  # the decrypted body must be one DER structure
    except (DecryptError, der.DerError, KeyError):
        return None
    return plain


def _load_traditional(verdict: KeyVerdict, body: bytes, kind: str, profile: Profile) -> KeyVerdict:
    if kind == "EC":
        problem = _sec1_problem(body)
        if problem:
            return verdict.reject("PK_KEY_INVALID_FORMAT", "key-ec-explicit", problem,
                                  "use a named curve: openssl ec -in old.pem -param_enc named_curve -out new.pem")
    try:
        key = load_key_der(body)
    except LOAD_ERRORS:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-invalid", f"the {kind} key inside the PEM block does "
                              "not parse (or uses a curve Mbed TLS does not have)", "re-export or re-generate the key")
    return check_key_type(verdict, key, profile)


def _sec1_problem(body: bytes) -> str | None:
    try:
        parts = der.expect(der.read_single(body), der.SEQUENCE, "ECPrivateKey").children()
    except der.DerError as exc:
        return f"the EC key is not valid SEC1 DER ({exc})"
    params = [p for p in parts if p.tag == 0xA0]
    if not params:
        return "the EC key names no curve"
    try:
        inner = der.read_all(params[0].value)
    except der.DerError as exc:
        return f"the EC key's curve parameters are malformed ({exc})"
    if inner and inner[0].tag == der.SEQUENCE:
        return "the EC key uses explicit curve parameters, which no Mbed TLS build accepts"
    return None


def _not_pem(verdict: KeyVerdict, data: bytes, pwd: bytes | None, profile: Profile, *,
             pass_missing: bool) -> KeyVerdict:
    if not data.strip():
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-empty", f"{PRIVATE_KEY} is empty",
                              "generate credentials (`hatch-meadow generate`) or copy your key here")
    labels = labels_in(data)
    if labels:
        found = ", ".join(sorted(set(labels)))
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-no-supported-pem",
                              f"the file holds PEM block(s) Mbed TLS does not read as a private key: {found}",
                              "convert it: openssl pkey -in old.pem -out private_key.pem (OpenSSH and DSA keys "
                              "cannot be used)")
    if data[:1] == b"\x30":
        try:
            top = der.read_single(data).children()
        except der.DerError:
            top = []
        if len(top) == 2 and top[0].tag == der.SEQUENCE and top[1].tag == der.OCTET_STRING:
            # Encrypted PKCS#8 DER: every build tested reads it despite Meadow's trailing NUL.
            verdict.encrypted = True
            verdict.note("key-der", "warning", "the key is DER (binary) in a .pem file; PEM is the safe form",
                         "convert it: openssl pkey -inform DER -in private_key.pem -out new.pem (then rename)")
            return _encrypted_pkcs8(verdict, data, pwd, profile, pass_missing=pass_missing)
        if top:
            return _der_key(verdict, data, profile)
    if _looks_like_text(data):
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-placeholder",
                              f"{PRIVATE_KEY} is text without a PEM key block (a placeholder?); deploying it "
                              "would overwrite the board's working credentials with garbage",
                              "put the real key here or run `hatch-meadow generate`")
    return verdict.reject("PK_KEY_INVALID_FORMAT", "key-garbage", f"{PRIVATE_KEY} is neither PEM nor a DER key",
                          "put the real key here or run `hatch-meadow generate`")


def _der_key(verdict: KeyVerdict, data: bytes, profile: Profile) -> KeyVerdict:
    try:
        key = load_key_der(data)
    except LOAD_ERRORS:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-der", "the file is DER (binary), and not a key "
                              "Mbed TLS parses", "convert to PEM: openssl pkey -inform DER -in k.der -out "
                              "private_key.pem")
    top = der.read_single(data).children()
    is_pkcs8 = len(top) >= 2 and top[1].tag == der.SEQUENCE
    is_sec1 = not is_pkcs8 and isinstance(key, ec.EllipticCurvePrivateKey)
    ok = profile.pkcs8_der_with_nul if is_pkcs8 else profile.sec1_der_with_nul if is_sec1 else \
        profile.pkcs1_der_with_nul
    verdict.encoding = f"DER {'PKCS#8' if is_pkcs8 else 'SEC1' if is_sec1 else 'PKCS#1'}"
    fix = "convert to PEM: openssl pkey -inform DER -in private_key.pem -out private_key.pem.new"
    if not ok:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-der", "the key is DER (binary) in a .pem file; "
                              "Meadow appends a NUL byte, which this Mbed TLS rejects after DER", fix)
    verdict.note("key-der", "warning", "the key is DER (binary) in a .pem file; newer Mbed TLS builds reject it "
                 "because of the NUL byte Meadow appends", fix)
    return check_key_type(verdict, key, profile)


def _looks_like_text(data: bytes) -> bool:
    sample = data[:512]
    return all(32 <= b < 127 or b in (9, 10, 13) for b in sample.lstrip(b"\xef\xbb\xbf"))


def _encrypted_pkcs8(verdict: KeyVerdict, der_bytes: bytes, password: bytes | None, profile: Profile, *,
                     pass_missing: bool) -> KeyVerdict:
    """PKCS#8 decryption is loaded for the keys that need it (hashlib, PBKDF2: ~3 ms of a short command)."""
    from hatch_meadow.creds.keycheck_pkcs8 import encrypted_pkcs8

    return encrypted_pkcs8(verdict, der_bytes, password, profile, pass_missing=pass_missing)
