"""Build a corpus of Meadow TLS credential cases with the real OpenSSL CLI and pyca/cryptography.

The cases are the ones of ``spec/mbedtls-compat.md`` §5.1 / §5.2, made as §8.5 describes, so that
a check can be compared case by case with the spec's matrix and with real Mbed TLS
(:mod:`hatch_meadow.mbedtls_oracle`). Case names are the spec's file names; a key case run with a
pass file other than its usual one is named ``<key file>@<pass file>`` (``@nopass`` = no pass file).

Speed: every base key is generated once, in parallel, and reused. Differences from §8.5 made for
that reason (the encoded structure is the same, only the key material is shared):

* ``rsa2048_pkcs8_plain``, ``rsa2048_genrsa_default``, ``rsa2048_genpkey_*`` and
  ``rsa2048_genrsa_aes256_default`` re-encode K with ``openssl pkcs8`` / ``openssl pkey``, which use
  the same OpenSSL 3 encoders as ``genpkey`` / ``genrsa`` (§4) instead of generating new keys;
* ``rsa8192_pkcs8_plain`` is left out (generating it takes many seconds).
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

#: Passphrase P of the spec.
PASSPHRASE = b"Meadow-Test-1"
#: LP: 40 ASCII characters; over the PKCS#12 PBE limit of 31 bytes (§2.3), fine elsewhere.
LONG_PASSPHRASE_40 = b"Meadow-Test-1-long-passphrase-0123456789"
#: Exactly at the PKCS#12 PBE limit (BMP-encoded 2 * 31 + 2 = 64 bytes), and one byte over it.
LONG_PASSPHRASE_31 = LONG_PASSPHRASE_40[:31]
LONG_PASSPHRASE_32 = LONG_PASSPHRASE_40[:32]
#: UP: non-ASCII, UTF-8 encoded.
UTF8_PASSPHRASE = "pässwörd-ü".encode()
WRONG_PASSPHRASE = b"Not-The-Passphrase-7"

#: Pass files by name: the exact bytes a user would have in private_key_pass.txt.
PASS_FILES: dict[str, bytes] = {
    "pass.txt": PASSPHRASE,
    "pass_nl.txt": PASSPHRASE + b"\n",
    "pass_crlf.txt": PASSPHRASE + b"\r\n",
    "pass_wrong.txt": WRONG_PASSPHRASE,
    "pass_empty.txt": b"",
    "pass_long40.txt": LONG_PASSPHRASE_40,
    "pass_long31.txt": LONG_PASSPHRASE_31,
    "pass_long32.txt": LONG_PASSPHRASE_32,
    "pass_utf8.txt": UTF8_PASSPHRASE,
}

#: $S of the spec.
SUBJECT = "/CN=meadow-test-device"
DAYS = "365"
LEGACY = ("-provider", "legacy", "-provider", "default")

#: OpenSSL -extfile contents used by the certificate cases (§5.2, "Extension files").
EXTENSION_FILES: dict[str, str] = {
    "leaf.ext": (
        "basicConstraints = CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = clientAuth\n"
        "subjectAltName = DNS:meadow.example.com, URI:urn:meadow:test, email:device@example.com, IP:192.0.2.1\n"
    ),
    "crit.ext": "1.2.3.4.5.6.7 = critical, ASN1:UTF8String:meadow\n",
    "noncrit.ext": "1.2.3.4.5.6.7 = ASN1:UTF8String:meadow\n",
    "many.ext": "basicConstraints = CA:FALSE\n"
    + "".join(f"1.2.3.4.5.6.{n} = ASN1:UTF8String:ext{n}\n" for n in range(1, 31)),
    "pol.ext": "certificatePolicies = critical, 1.2.3.4\n",
    "san.ext": (
        "subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:device@example.com, dirName:dir_sect\n"
        "[dir_sect]\n"
        "CN = meadow-dir-name\n"
        "O = Meadow Test\n"
    ),
    "nc.ext": "basicConstraints = critical, CA:TRUE\nnameConstraints = critical, permitted;DNS:example.com\n",
    "ski.ext": "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n",
}

K = "rsa2048_pkcs1_plain.pem"
CA_KEY = "rsa3072_pkcs8_plain.pem"
EC_SEC1 = "ec_p256_sec1_plain.pem"
DES3_TRAD = "rsa2048_pem_des3_trad.pem"
RSA_CERT = "cert_rsa_req_x509_sha256.pem"


@dataclass(frozen=True)
class Case:
    """One credential case.

    Attributes:
        name: The spec's file name, or ``<key file>@<pass file>`` for a pass-file variant.
        kind: ``"key"`` (check ``key`` with ``password``) or ``"cert"`` (check ``cert``).
        key: The private key file bytes; for a cert case the matching private key, unencrypted.
        password: The exact pass-file bytes; None = no pass file.
        cert: The certificate file bytes (cert cases only).
    """

    name: str
    kind: Literal["key", "cert"]
    key: bytes | None
    password: bytes | None
    cert: bytes | None


class _Workshop:
    """Runs OpenSSL inside the corpus folder and keeps every produced file there."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        found = shutil.which("openssl")
        if found is None:
            raise RuntimeError("the openssl command line tool is needed to build the corpus")
        self._openssl = found

    def openssl(self, *args: str, out: str | None = None) -> bytes:
        """Run ``openssl *args`` in the folder; return stdout, and save it as ``out`` if given."""
        done = subprocess.run(
            [self._openssl, *args], cwd=self.folder, capture_output=True, check=False, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
        if out is not None:
            self.write(out, done.stdout)
        return done.stdout

    def write(self, name: str, data: bytes) -> bytes:
        """Save ``data`` as ``name`` in the folder and return it."""
        (self.folder / name).write_bytes(data)
        return data

    def read(self, name: str) -> bytes:
        """Bytes of a file made earlier."""
        return (self.folder / name).read_bytes()


def _pass_arg(password: bytes) -> str:
    return "pass:" + password.decode()


def _make_base_keys(shop: _Workshop) -> None:
    """Generate every freshly generated key once; the slow RSA/DSA ones run in parallel."""

    def dsa() -> None:
        shop.openssl(
            "genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:2048", out="dsa.params"
        )
        shop.openssl("genpkey", "-paramfile", "dsa.params", out="dsa2048_pkcs8_plain.pem")

    jobs: list[tuple[str, tuple[str, ...]]] = [
        ("rsa4096_pkcs8_plain.pem", ("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096")),
        (CA_KEY, ("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072")),
        (K, ("genrsa", "-traditional", "2048")),
        ("rsapss2048_pkcs8_plain.pem", ("genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048")),
        ("rsa1024_pkcs8_plain.pem", ("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024")),
    ]
    curves = {
        "ec_p224_pkcs8_plain.pem": "P-224",
        "ec_p256_pkcs8_plain.pem": "P-256",
        "ec_p384_pkcs8_plain.pem": "P-384",
        "ec_p521_pkcs8_plain.pem": "P-521",
        "ec_secp256k1_pkcs8_plain.pem": "secp256k1",
        "ec_bp256r1_pkcs8_plain.pem": "brainpoolP256r1",
        "ec_bp512r1_pkcs8_plain.pem": "brainpoolP512r1",
    }
    jobs += [
        (name, ("genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}"))
        for name, curve in curves.items()
    ]
    jobs += [
        (EC_SEC1, ("ecparam", "-name", "prime256v1", "-genkey", "-noout")),
        ("ec_p256_sec1_with_params_block.pem", ("ecparam", "-name", "prime256v1", "-genkey")),
        (
            "ec_p256_sec1_explicit_params.pem",
            ("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-param_enc", "explicit"),
        ),
        ("ed25519_pkcs8_plain.pem", ("genpkey", "-algorithm", "ED25519")),
        ("ed448_pkcs8_plain.pem", ("genpkey", "-algorithm", "ED448")),
        ("x25519_pkcs8_plain.pem", ("genpkey", "-algorithm", "X25519")),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(dsa)] + [pool.submit(shop.openssl, *args, out=name) for name, args in jobs]
        for future in futures:
            future.result()


def _make_encrypted_keys(shop: _Workshop) -> None:
    """Encrypted and re-encoded variants of the base keys (§8.5), the legacy provider where needed."""
    p, lp, up = _pass_arg(PASSPHRASE), _pass_arg(LONG_PASSPHRASE_40), _pass_arg(UTF8_PASSPHRASE)
    o = shop.openssl
    # Plain re-encodings of K.
    o("pkcs8", "-topk8", "-nocrypt", "-in", K, out="rsa2048_pkcs8_plain.pem")
    o("pkey", "-in", K, out="rsa2048_genrsa_default.pem")
    o("rsa", "-in", K, "-traditional", "-outform", "DER", out="rsa2048_pkcs1.der.pem")
    o("pkcs8", "-topk8", "-nocrypt", "-in", K, "-outform", "DER", out="rsa2048_pkcs8.der.pem")
    o("rsa", "-in", "rsa4096_pkcs8_plain.pem", "-traditional", out="rsa4096_pkcs1_plain.pem")
    # OpenSSL 3 defaults: PKCS#8 PBES2, PBKDF2-HMAC-SHA256, the named cipher.
    o("pkey", "-in", K, "-aes256", "-passout", p, out="rsa2048_genpkey_aes256.pem")
    o("pkey", "-in", K, "-des3", "-passout", p, out="rsa2048_genpkey_des3.pem")
    o("pkey", "-in", K, "-aes256", "-passout", p, out="rsa2048_genrsa_aes256_default.pem")
    o("rsa", "-in", K, "-aes256", "-passout", p, out="rsa2048_rsa_aes256_default.pem")
    o("rsa", "-in", K, "-des3", "-passout", p, out="rsa2048_rsa_des3_default.pem")
    # Legacy (RFC 1421, "traditional") PEM encryption.
    for cipher in ("aes128", "aes192", "aes256", "aria256", "camellia256", "des3"):
        o("rsa", "-in", K, "-traditional", f"-{cipher}", "-passout", p, out=f"rsa2048_pem_{cipher}_trad.pem")
    o("rsa", "-in", K, "-traditional", "-des", *LEGACY, "-passout", p, out="rsa2048_pem_des_trad.pem")
    o("rsa", "-in", K, "-traditional", "-des3", "-passout", lp, out="rsa2048_pem_des3_trad_long40.pem")
    o("rsa", "-in", K, "-traditional", "-des3", "-passout", up, out="rsa2048_pem_des3_trad_utf8.pem")
    shop.write("rsa2048_pem_des3_trad_crlf.pem", shop.read(DES3_TRAD).replace(b"\n", b"\r\n"))
    o("rsa", "-in", "rsa4096_pkcs8_plain.pem", "-traditional", "-des3", "-passout", p, out="rsa4096_pem_des3_trad.pem")
    o("ec", "-in", EC_SEC1, "-aes256", "-passout", p, out="ec_p256_ec_aes256_default.pem")
    o("ec", "-in", EC_SEC1, "-des3", "-passout", p, out="ec_p256_ec_des3_default.pem")
    # PKCS#8 EncryptedPrivateKeyInfo: PBES2 (cipher, PRF), scrypt, PBES1, PKCS#12 PBE.
    topk8 = ("pkcs8", "-topk8", "-in")
    o(*topk8, EC_SEC1, "-v2", "aes-256-cbc", "-passout", p, out="ec_p256_p8_pbes2_aes256.pem")
    o(*topk8, EC_SEC1, "-v2", "des3", "-passout", p, out="ec_p256_p8_pbes2_des3.pem")
    pbes2: dict[str, tuple[str, ...]] = {
        "rsa2048_p8_pbes2_aes128_sha256.pem": ("-v2", "aes-128-cbc", "-passout", p),
        "rsa2048_p8_pbes2_aes256_sha1.pem": ("-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1", "-passout", p),
        "rsa2048_p8_pbes2_aes256_sha256.pem": ("-v2", "aes-256-cbc", "-passout", p),
        "rsa2048_p8_pbes2_camellia256.pem": ("-v2", "camellia-256-cbc", "-passout", p),
        "rsa2048_p8_pbes2_des3.der.pem": ("-v2", "des3", "-passout", p, "-outform", "DER"),
        "rsa2048_p8_pbes2_des3_sha1.pem": ("-v2", "des3", "-v2prf", "hmacWithSHA1", "-passout", p),
        "rsa2048_p8_pbes2_des3_sha256.pem": ("-v2", "des3", "-passout", p),
        "rsa2048_p8_pbes2_des3_sha256_long40.pem": ("-v2", "des3", "-passout", lp),
        "rsa2048_p8_pbes2_des3_sha256_utf8.pem": ("-v2", "des3", "-passout", up),
        "rsa2048_p8_pbes2_des3_sha512.pem": ("-v2", "des3", "-v2prf", "hmacWithSHA512", "-passout", p),
        "rsa2048_p8_pbes2_des_sha256.pem": ("-v2", "des-cbc", *LEGACY, "-passout", p),
        "rsa2048_p8_scrypt_aes256.pem": ("-scrypt", "-passout", p),
        "rsa2048_p8_pbes1_md5_des.pem": ("-v1", "PBE-MD5-DES", *LEGACY, "-passout", p),
        "rsa2048_p8_pkcs12_sha1_2des.pem": ("-v1", "PBE-SHA1-2DES", "-passout", p),
        "rsa2048_p8_pkcs12_sha1_3des.pem": ("-v1", "PBE-SHA1-3DES", "-passout", p),
        "rsa2048_p8_pkcs12_sha1_3des_long31.pem": ("-v1", "PBE-SHA1-3DES", "-passout", _pass_arg(LONG_PASSPHRASE_31)),
        "rsa2048_p8_pkcs12_sha1_3des_long32.pem": ("-v1", "PBE-SHA1-3DES", "-passout", _pass_arg(LONG_PASSPHRASE_32)),
        "rsa2048_p8_pkcs12_sha1_3des_long40.pem": ("-v1", "PBE-SHA1-3DES", "-passout", lp),
        "rsa2048_p8_pkcs12_sha1_3des_utf8.pem": ("-v1", "PBE-SHA1-3DES", "-passout", up),
        "rsa2048_p8_pkcs12_sha1_rc2_40.pem": ("-v1", "PBE-SHA1-RC2-40", *LEGACY, "-passout", p),
        "rsa2048_p8_pkcs12_sha1_rc4_128.pem": ("-v1", "PBE-SHA1-RC4-128", *LEGACY, "-passout", p),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(o, *topk8, K, *args, out=name) for name, args in pbes2.items()]
        for future in futures:
            future.result()


def _make_framing_variants(shop: _Workshop) -> None:
    """Edits of the DES3 traditional PEM key (§5.1 ``fmt_*`` rows)."""
    pem = shop.read(DES3_TRAD)
    header = b"-----BEGIN RSA PRIVATE KEY-----\n"
    if not pem.startswith(header) or not pem.endswith(b"\n"):
        raise RuntimeError(f"unexpected layout of {DES3_TRAD}")
    head, _, body = pem.partition(b"\n\n")  # header + Proc-Type + DEK-Info, blank line, base64 + footer
    *base64_lines, footer, _ = body.split(b"\n")
    variants = {
        "fmt_no_final_newline.pem": pem[:-1],
        "fmt_header_one_trailing_space.pem": pem.replace(header, header[:-1] + b" \n", 1),
        "fmt_header_two_trailing_spaces.pem": pem.replace(header, header[:-1] + b"  \n", 1),
        "fmt_utf8_bom.pem": b"\xef\xbb\xbf" + pem,
        "fmt_single_line_body.pem": head + b"\n\n" + b"".join(base64_lines) + b"\n" + footer + b"\n",
        "fmt_cert_then_key.pem": shop.read(RSA_CERT) + pem,
        "fmt_blank_line_after_header.pem": pem.replace(header, header + b"\n", 1),
    }
    for name, data in variants.items():
        shop.write(name, data)


def _make_pfx_keys(shop: _Workshop) -> None:
    """The Meadow docs' PFX extraction, with and without ``-nodes`` (§4)."""
    p = _pass_arg(PASSPHRASE)
    shop.openssl("pkcs12", "-export", "-inkey", K, "-in", RSA_CERT, "-passout", p, "-out", "test.pfx")
    shop.openssl("pkcs12", "-in", "test.pfx", "-passin", p, "-nocerts", "-passout", p, out="pfx_nocerts_default.pem")
    shop.openssl("pkcs12", "-in", "test.pfx", "-passin", p, "-nocerts", "-nodes", out="pfx_nocerts_nodes.pem")


def _self_signed_with_dates(
    shop: _Workshop, name: str, not_before: datetime.datetime, not_after: datetime.datetime
) -> None:
    """An RSA certificate for K with chosen validity dates, made with pyca/cryptography."""
    key = serialization.load_pem_private_key(shop.read(K), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise RuntimeError(f"{K} is not an RSA key")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meadow-test-device")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    shop.write(name, cert.public_bytes(serialization.Encoding.PEM))


def _make_certs(shop: _Workshop) -> None:
    """Certificates of §5.2, as §8.5 makes them."""
    o = shop.openssl
    for name, text in EXTENSION_FILES.items():
        shop.write(name, text.encode())
    o("req", "-new", "-key", K, "-subj", SUBJECT, out="rsa.csr")
    o(
        "req", "-x509", "-new", "-key", CA_KEY, "-subj", "/CN=test-ca", "-days", DAYS, "-sha256",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        out="ca.pem",
    )  # fmt: skip
    req_x509 = ("req", "-x509", "-new", "-subj", SUBJECT, "-days", DAYS, "-key")
    o(*req_x509, K, "-sha256", out=RSA_CERT)
    o(*req_x509, K, "-sha256", "-outform", "DER", out="cert_rsa.der.pem")
    o(*req_x509, "rsa4096_pkcs8_plain.pem", "-sha256", out="cert_rsa4096.pem")
    o(*req_x509, "ec_bp256r1_pkcs8_plain.pem", "-sha256", out="cert_ec_bp256r1.pem")
    o(*req_x509, EC_SEC1, "-sha256", out="cert_ec_p256_sha256.pem")
    o(*req_x509, "ec_p384_pkcs8_plain.pem", "-sha384", out="cert_ec_p384_sha384.pem")
    o(*req_x509, "ed25519_pkcs8_plain.pem", out="cert_ed25519.pem")
    o(*req_x509, "rsapss2048_pkcs8_plain.pem", out="cert_rsapss_key.pem")

    signkey = ("x509", "-req", "-in", "rsa.csr", "-signkey", K, "-days", DAYS)
    o(*signkey, out="cert_rsa_x509_req_signkey.pem")  # X.509 v1: no -extfile
    o(*signkey, "-extfile", "many.ext", out="cert_31_extensions.pem")
    o(*signkey, "-extfile", "pol.ext", out="cert_critical_policies.pem")
    o(*signkey, "-extfile", "nc.ext", out="cert_name_constraints_critical.pem")
    o(*signkey, "-extfile", "san.ext", out="cert_san_othername_dirname.pem")
    o(*signkey, "-extfile", "ski.ext", out="cert_ski_aki.pem")
    o(*signkey, "-extfile", "crit.ext", out="cert_unknown_critical_ext.pem")
    o(*signkey, "-extfile", "noncrit.ext", out="cert_unknown_noncritical_ext.pem")
    o(*signkey, "-md5", out="cert_rsa_md5.pem")
    o(*signkey, "-sha1", out="cert_rsa_sha1.pem")
    o(*signkey, "-set_serial", "-5", out="cert_rsa_negative_serial.pem")
    o(*signkey, "-set_serial", "0", out="cert_rsa_serial_zero.pem")
    o(*signkey, "-set_serial", "0x00112233445566778899aabbccddeeff0011223344556677", out="cert_rsa_serial_24bytes.pem")
    o(*signkey, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sha256", out="cert_rsa_pss.pem")
    o(
        "x509", "-req", "-in", "rsa.csr", "-CA", "ca.pem", "-CAkey", CA_KEY, "-CAcreateserial", "-days", DAYS,
        "-sha256", "-extfile", "leaf.ext", out="cert_leaf_ca_signed.pem",
    )  # fmt: skip
    o("x509", "-in", RSA_CERT, "-trustout", "-addtrust", "clientAuth", out="cert_rsa_trusted_format.pem")

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    day = datetime.timedelta(days=1)
    _self_signed_with_dates(shop, "cert_rsa_expired.pem", now - 30 * day, now - day)
    _self_signed_with_dates(shop, "cert_rsa_not_yet_valid.pem", now + 30 * day, now + 395 * day)
    _self_signed_with_dates(
        shop,
        "cert_rsa_validity_2050_generalizedtime.pem",
        now,
        datetime.datetime(2051, 1, 1, tzinfo=datetime.timezone.utc),
    )

    r = shop.read
    shop.write("cert_rsa_crlf.pem", r(RSA_CERT).replace(b"\n", b"\r\n"))
    shop.write("cert_and_key_same_file.pem", r(RSA_CERT) + r(K))
    shop.write("cert_bundle_leaf_ca.pem", r("cert_leaf_ca_signed.pem") + r("ca.pem"))
    shop.write("cert_bundle_ca_then_leaf.pem", r("ca.pem") + r("cert_leaf_ca_signed.pem"))
    shop.write("cert_bundle_ed25519_then_rsa.pem", r("cert_ed25519.pem") + r(RSA_CERT))


#: Key cases: (case name, key file, pass file or None). Order follows the spec's tables.
KEY_CASES: tuple[tuple[str, str, str | None], ...] = (
    *(
        (name, name, None)
        for name in (
            "dsa2048_pkcs8_plain.pem",
            "ec_bp256r1_pkcs8_plain.pem",
            "ec_bp512r1_pkcs8_plain.pem",
            "ec_p224_pkcs8_plain.pem",
        )
    ),
    ("ec_p256_ec_aes256_default.pem", "ec_p256_ec_aes256_default.pem", "pass.txt"),
    ("ec_p256_ec_des3_default.pem", "ec_p256_ec_des3_default.pem", "pass.txt"),
    ("ec_p256_p8_pbes2_aes256.pem", "ec_p256_p8_pbes2_aes256.pem", "pass.txt"),
    ("ec_p256_p8_pbes2_des3.pem", "ec_p256_p8_pbes2_des3.pem", "pass.txt"),
    *(
        (name, name, None)
        for name in (
            "ec_p256_pkcs8_plain.pem",
            "ec_p256_sec1_explicit_params.pem",
            "ec_p256_sec1_plain.pem",
            "ec_p256_sec1_with_params_block.pem",
            "ec_p384_pkcs8_plain.pem",
            "ec_p521_pkcs8_plain.pem",
            "ec_secp256k1_pkcs8_plain.pem",
            "ed25519_pkcs8_plain.pem",
            "ed448_pkcs8_plain.pem",
            "rsa1024_pkcs8_plain.pem",
        )
    ),
    ("rsa2048_genpkey_aes256.pem", "rsa2048_genpkey_aes256.pem", "pass.txt"),
    ("rsa2048_genpkey_des3.pem", "rsa2048_genpkey_des3.pem", "pass.txt"),
    ("rsa2048_genrsa_aes256_default.pem", "rsa2048_genrsa_aes256_default.pem", "pass.txt"),
    ("rsa2048_genrsa_default.pem", "rsa2048_genrsa_default.pem", None),
    *(
        (name, name, "pass.txt")
        for name in (
            "rsa2048_p8_pbes1_md5_des.pem",
            "rsa2048_p8_pbes2_aes128_sha256.pem",
            "rsa2048_p8_pbes2_aes256_sha1.pem",
            "rsa2048_p8_pbes2_aes256_sha256.pem",
            "rsa2048_p8_pbes2_camellia256.pem",
            "rsa2048_p8_pbes2_des3.der.pem",
            "rsa2048_p8_pbes2_des3_sha1.pem",
            "rsa2048_p8_pbes2_des3_sha256.pem",
        )
    ),
    ("rsa2048_p8_pbes2_des3_sha256_long40.pem", "rsa2048_p8_pbes2_des3_sha256_long40.pem", "pass_long40.txt"),
    ("rsa2048_p8_pbes2_des3_sha256_utf8.pem", "rsa2048_p8_pbes2_des3_sha256_utf8.pem", "pass_utf8.txt"),
    ("rsa2048_p8_pbes2_des3_sha512.pem", "rsa2048_p8_pbes2_des3_sha512.pem", "pass.txt"),
    ("rsa2048_p8_pbes2_des_sha256.pem", "rsa2048_p8_pbes2_des_sha256.pem", "pass.txt"),
    ("rsa2048_p8_pkcs12_sha1_2des.pem", "rsa2048_p8_pkcs12_sha1_2des.pem", "pass.txt"),
    ("rsa2048_p8_pkcs12_sha1_3des.pem", "rsa2048_p8_pkcs12_sha1_3des.pem", "pass.txt"),
    ("rsa2048_p8_pkcs12_sha1_3des_long31.pem", "rsa2048_p8_pkcs12_sha1_3des_long31.pem", "pass_long31.txt"),
    ("rsa2048_p8_pkcs12_sha1_3des_long32.pem", "rsa2048_p8_pkcs12_sha1_3des_long32.pem", "pass_long32.txt"),
    ("rsa2048_p8_pkcs12_sha1_3des_long40.pem", "rsa2048_p8_pkcs12_sha1_3des_long40.pem", "pass_long40.txt"),
    ("rsa2048_p8_pkcs12_sha1_3des_utf8.pem", "rsa2048_p8_pkcs12_sha1_3des_utf8.pem", "pass_utf8.txt"),
    ("rsa2048_p8_pkcs12_sha1_rc2_40.pem", "rsa2048_p8_pkcs12_sha1_rc2_40.pem", "pass.txt"),
    ("rsa2048_p8_pkcs12_sha1_rc4_128.pem", "rsa2048_p8_pkcs12_sha1_rc4_128.pem", "pass.txt"),
    ("rsa2048_p8_scrypt_aes256.pem", "rsa2048_p8_scrypt_aes256.pem", "pass.txt"),
    *(
        (name, name, "pass.txt")
        for name in (
            "rsa2048_pem_aes128_trad.pem",
            "rsa2048_pem_aes192_trad.pem",
            "rsa2048_pem_aes256_trad.pem",
            "rsa2048_pem_aria256_trad.pem",
            "rsa2048_pem_camellia256_trad.pem",
            "rsa2048_pem_des3_trad.pem",
            "rsa2048_pem_des3_trad_crlf.pem",
        )
    ),
    ("rsa2048_pem_des3_trad_long40.pem", "rsa2048_pem_des3_trad_long40.pem", "pass_long40.txt"),
    ("rsa2048_pem_des3_trad_utf8.pem", "rsa2048_pem_des3_trad_utf8.pem", "pass_utf8.txt"),
    ("rsa2048_pem_des_trad.pem", "rsa2048_pem_des_trad.pem", "pass.txt"),
    ("rsa2048_pkcs1.der.pem", "rsa2048_pkcs1.der.pem", None),
    ("rsa2048_pkcs1_plain.pem", K, None),
    ("rsa2048_pkcs8.der.pem", "rsa2048_pkcs8.der.pem", None),
    ("rsa2048_pkcs8_plain.pem", "rsa2048_pkcs8_plain.pem", None),
    ("rsa2048_rsa_aes256_default.pem", "rsa2048_rsa_aes256_default.pem", "pass.txt"),
    ("rsa2048_rsa_des3_default.pem", "rsa2048_rsa_des3_default.pem", "pass.txt"),
    ("rsa3072_pkcs8_plain.pem", CA_KEY, None),
    ("rsa4096_pem_des3_trad.pem", "rsa4096_pem_des3_trad.pem", "pass.txt"),
    ("rsa4096_pkcs1_plain.pem", "rsa4096_pkcs1_plain.pem", None),
    ("rsa4096_pkcs8_plain.pem", "rsa4096_pkcs8_plain.pem", None),
    ("rsapss2048_pkcs8_plain.pem", "rsapss2048_pkcs8_plain.pem", None),
    ("x25519_pkcs8_plain.pem", "x25519_pkcs8_plain.pem", None),
    # Pass-file variants.
    (f"{DES3_TRAD}@pass_nl.txt", DES3_TRAD, "pass_nl.txt"),
    (f"{DES3_TRAD}@pass_crlf.txt", DES3_TRAD, "pass_crlf.txt"),
    (f"{DES3_TRAD}@pass_wrong.txt", DES3_TRAD, "pass_wrong.txt"),
    (f"{DES3_TRAD}@pass_empty.txt", DES3_TRAD, "pass_empty.txt"),
    (f"{DES3_TRAD}@nopass", DES3_TRAD, None),
    ("rsa2048_p8_pbes2_des3_sha256.pem@pass_nl.txt", "rsa2048_p8_pbes2_des3_sha256.pem", "pass_nl.txt"),
    ("rsa2048_p8_pbes2_des3_sha256.pem@pass_wrong.txt", "rsa2048_p8_pbes2_des3_sha256.pem", "pass_wrong.txt"),
    ("rsa2048_p8_pbes2_des3_sha256.pem@nopass", "rsa2048_p8_pbes2_des3_sha256.pem", None),
    ("rsa2048_p8_pkcs12_sha1_3des.pem@pass_wrong.txt", "rsa2048_p8_pkcs12_sha1_3des.pem", "pass_wrong.txt"),
    ("rsa2048_p8_pkcs12_sha1_3des.pem@nopass", "rsa2048_p8_pkcs12_sha1_3des.pem", None),
    ("rsa2048_pkcs1_plain.pem@pass.txt", K, "pass.txt"),
    ("rsa2048_pkcs8_plain.pem@pass.txt", "rsa2048_pkcs8_plain.pem", "pass.txt"),
    # PFX extraction and PEM framing variants ("extra rows").
    ("pfx_nocerts_default.pem", "pfx_nocerts_default.pem", "pass.txt"),
    ("pfx_nocerts_nodes.pem", "pfx_nocerts_nodes.pem", None),
    *(
        (name, name, "pass.txt")
        for name in (
            "fmt_no_final_newline.pem",
            "fmt_header_one_trailing_space.pem",
            "fmt_header_two_trailing_spaces.pem",
            "fmt_utf8_bom.pem",
            "fmt_single_line_body.pem",
            "fmt_cert_then_key.pem",
            "fmt_blank_line_after_header.pem",
        )
    ),
)

#: Certificate cases: certificate file -> the matching private key file (unencrypted).
CERT_CASES: dict[str, str] = {
    "ca.pem": CA_KEY,
    "cert_31_extensions.pem": K,
    "cert_and_key_same_file.pem": K,
    "cert_bundle_ca_then_leaf.pem": K,  # first certificate is the CA's: the pair check fails
    "cert_bundle_ed25519_then_rsa.pem": K,
    "cert_bundle_leaf_ca.pem": K,
    "cert_critical_policies.pem": K,
    "cert_ec_bp256r1.pem": "ec_bp256r1_pkcs8_plain.pem",
    "cert_ec_p256_sha256.pem": EC_SEC1,
    "cert_ec_p384_sha384.pem": "ec_p384_pkcs8_plain.pem",
    "cert_ed25519.pem": "ed25519_pkcs8_plain.pem",
    "cert_leaf_ca_signed.pem": K,
    "cert_name_constraints_critical.pem": K,
    "cert_rsa.der.pem": K,
    "cert_rsa4096.pem": "rsa4096_pkcs8_plain.pem",
    "cert_rsa_crlf.pem": K,
    "cert_rsa_expired.pem": K,
    "cert_rsa_md5.pem": K,
    "cert_rsa_negative_serial.pem": K,
    "cert_rsa_not_yet_valid.pem": K,
    "cert_rsa_pss.pem": K,
    "cert_rsa_req_x509_sha256.pem": K,
    "cert_rsa_serial_24bytes.pem": K,
    "cert_rsa_serial_zero.pem": K,
    "cert_rsa_sha1.pem": K,
    "cert_rsa_trusted_format.pem": K,
    "cert_rsa_validity_2050_generalizedtime.pem": K,
    "cert_rsa_x509_req_signkey.pem": K,
    "cert_rsapss_key.pem": "rsapss2048_pkcs8_plain.pem",
    "cert_san_othername_dirname.pem": K,
    "cert_ski_aki.pem": K,
    "cert_unknown_critical_ext.pem": K,
    "cert_unknown_noncritical_ext.pem": K,
}


def build_corpus(folder: Path) -> list[Case]:
    """Generate every case file in ``folder`` (created if needed) and return the cases.

    Args:
        folder: Where the key, pass, certificate and helper files are written.

    Returns:
        The key cases (in the order of :data:`KEY_CASES`), then the certificate cases.

    Raises:
        RuntimeError: openssl is missing or one of its commands failed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    shop = _Workshop(folder)
    for name, data in PASS_FILES.items():
        shop.write(name, data)
    _make_base_keys(shop)
    _make_encrypted_keys(shop)
    _make_certs(shop)
    _make_pfx_keys(shop)
    _make_framing_variants(shop)

    cases = [
        Case(
            name=name,
            kind="key",
            key=shop.read(key_file),
            password=None if pass_file is None else shop.read(pass_file),
            cert=None,
        )
        for name, key_file, pass_file in KEY_CASES
    ]
    cases += [
        Case(name=name, kind="cert", key=shop.read(key_file), password=None, cert=shop.read(name))
        for name, key_file in CERT_CASES.items()
    ]
    return cases
