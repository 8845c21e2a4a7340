"""The validator's `parse` prediction against real Mbed TLS 2.28 on the corpus (2.28.8 from python-mbedtls, or
the system's 2.28 where python-mbedtls has no wheel), and against the spec's matrix for the other profiles."""

from __future__ import annotations

import pytest
from corpus import Case, build_corpus

from hatch_meadow.creds.certcheck import check_certificate
from hatch_meadow.creds.keycheck import check_key
from hatch_meadow.creds.profiles import PROFILES
from hatch_meadow.mbedtls_oracle import RealMbedTLS


@pytest.fixture(name="corpus", scope="module")
def _corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    """The generated case corpus (openssl CLI + cryptography), built once."""
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def predict(case: Case, profile: str) -> bool:
    spec = PROFILES[profile]
    if case.kind == "key":
        assert case.key is not None
        return check_key(case.key, case.password, spec, pass_missing=case.password is None).accepted
    assert case.cert is not None
    return check_certificate(case.cert, spec).accepted


def test_prediction_agrees_with_real_mbedtls_on_every_case(corpus: list[Case], real_mbedtls: RealMbedTLS) -> None:
    """For --profile mbedtls-2.28, accept/reject equals what real Mbed TLS 2.28 returns, case by case."""
    real = real_mbedtls
    assert real.version.startswith("2.28.")
    disagreements = []
    for case in corpus:
        actual = real.parse_key(case.key or b"", case.password or None) if case.kind == "key" \
            else real.parse_cert(case.cert or b"")
        if predict(case, "mbedtls-2.28") != actual.ok:
            disagreements.append(f"{case.name}: real {actual.name}")
    assert len(corpus) >= 100
    assert disagreements == [], f"{len(corpus) - len(disagreements)}/{len(corpus)} agree"


# Spec §5.1 / §5.3: where Meadow's 3.x (< 3.6), 3.6 and DES-less builds differ from 2.28.
DELTAS = {
    # case: (meadow-f7, mbedtls-3.6, portable)
    "rsa2048_p8_pbes2_aes256_sha256.pem": (False, True, False),
    "rsa2048_genrsa_aes256_default.pem": (False, True, False),
    "pfx_nocerts_default.pem": (False, True, False),
    "rsa2048_p8_pkcs12_sha1_rc4_128.pem": (False, False, False),
    "rsa2048_pkcs8.der.pem": (False, False, False),
    "rsa2048_pkcs1.der.pem": (True, False, False),
    "rsa2048_pem_des3_trad.pem": (True, True, False),
    "rsa2048_p8_pbes2_des3_sha256.pem": (True, True, False),
    "rsa2048_p8_pkcs12_sha1_3des.pem": (True, True, False),
    "rsa2048_pem_aes256_trad.pem": (True, True, True),
    "ec_p256_ec_aes256_default.pem": (True, True, True),
    "rsa2048_pkcs8_plain.pem": (True, True, True),
    "x25519_pkcs8_plain.pem": (True, True, False),  # parses on 3.5+ (meadow-f7 is modelled as 3.5), unusable
}


@pytest.mark.parametrize("name", sorted(DELTAS))
def test_profiles_follow_the_spec_matrix(corpus: list[Case], name: str) -> None:
    """meadow-f7, mbedtls-3.6 and portable predictions match the spec's 3.4/3.5, 3.6.6 and noDES columns."""
    case = next(c for c in corpus if c.name == name)
    expected = DELTAS[name]
    assert (predict(case, "meadow-f7"), predict(case, "mbedtls-3.6"), predict(case, "portable")) == expected


@pytest.mark.parametrize("profile", ["meadow-f7", "mbedtls-3.6"])
def test_x25519_on_3x_parses_but_cannot_sign(corpus: list[Case], profile: str) -> None:
    """X25519 parses on 3.5+ but cannot sign: parse says accept, an error finding says it is unusable."""
    case = next(c for c in corpus if c.name == "x25519_pkcs8_plain.pem")
    assert case.key is not None
    verdict = check_key(case.key, None, PROFILES[profile], pass_missing=True)
    assert verdict.accepted
    assert [(f.code, f.severity) for f in verdict.findings] == [("key-cannot-sign", "error")]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("rsa2048_pem_des3_trad.pem@pass_nl.txt", "pass-trailing-newline"),
        ("rsa2048_pem_des3_trad.pem@pass_crlf.txt", "pass-trailing-newline"),
        ("rsa2048_p8_pbes2_des3_sha256.pem@pass_nl.txt", "pass-trailing-newline"),
        ("rsa2048_pem_des3_trad.pem@pass_wrong.txt", "pass-wrong"),
        ("rsa2048_pem_des3_trad.pem@nopass", "pass-missing"),
        ("rsa2048_pem_des3_trad.pem@pass_empty.txt", "pass-empty"),
        ("rsa2048_genrsa_aes256_default.pem", "key-pbes2-aes"),
        ("rsa2048_p8_scrypt_aes256.pem", "key-pbes2-kdf"),
        ("rsa2048_p8_pbes2_camellia256.pem", "key-pbes2-cipher"),
        ("rsa2048_p8_pbes1_md5_des.pem", "key-pbes1"),
        ("rsa2048_p8_pkcs12_sha1_rc2_40.pem", "key-pkcs12-scheme"),
        ("rsa2048_p8_pkcs12_sha1_3des_long40.pem", "pass-too-long-pkcs12"),
        ("rsa2048_p8_pkcs12_sha1_3des_utf8.pem", "pass-non-ascii-pkcs12"),
        ("rsa2048_pem_aria256_trad.pem", "key-legacy-cipher"),
        ("ed25519_pkcs8_plain.pem", "key-type-unsupported"),
        ("ed448_pkcs8_plain.pem", "key-type-unsupported"),
        ("dsa2048_pkcs8_plain.pem", "key-type-unsupported"),
        ("rsapss2048_pkcs8_plain.pem", "key-type-unsupported"),
        ("ec_p256_sec1_explicit_params.pem", "key-ec-explicit"),
        ("fmt_header_two_trailing_spaces.pem", "key-no-supported-pem"),
    ],
)
def test_rejections_name_the_cause(corpus: list[Case], name: str, code: str) -> None:
    """Each rejected key says why, with a stable code (meadow-f7 profile)."""
    case = next(c for c in corpus if c.name == name)
    assert case.key is not None
    verdict = check_key(case.key, case.password, PROFILES["meadow-f7"], pass_missing=case.password is None)
    assert not verdict.accepted
    assert code in [f.code for f in verdict.findings if f.severity == "error"]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("cert_ed25519.pem", "cert-signature-unsupported"),
        ("cert_rsapss_key.pem", "cert-key-unsupported"),
        ("cert_unknown_critical_ext.pem", "cert-critical-extension"),
        ("cert_name_constraints_critical.pem", "cert-critical-extension"),
        ("cert_critical_policies.pem", "cert-critical-policies"),
        ("cert_rsa_trusted_format.pem", "cert-trusted-format"),
        ("cert_bundle_ed25519_then_rsa.pem", "cert-signature-unsupported"),
    ],
)
def test_certificate_rejections_name_the_cause(corpus: list[Case], name: str, code: str) -> None:
    """Each rejected certificate says why."""
    case = next(c for c in corpus if c.name == name)
    assert case.cert is not None
    verdict = check_certificate(case.cert, PROFILES["meadow-f7"])
    assert not verdict.accepted
    assert code in [f.code for f in verdict.findings]


def test_corpus_is_large_enough(corpus: list[Case]) -> None:
    """The corpus spans the spec's matrix: at least 45 key and 15 certificate cases."""
    assert len([c for c in corpus if c.kind == "key"]) >= 45
    assert len([c for c in corpus if c.kind == "cert"]) >= 15
