"""What each Mbed TLS build parses (``shared/spec/mbedtls-compat.md`` §5 and §6), as data.

``meadow-f7`` is the default: Meadow's own Mbed TLS 3.x (>= 3.2, assumed < 3.6) with the upstream
default config. ``portable`` is what every build tested accepts, including stock ESP-IDF (no DES) and
Mbed TLS 4 (no DES, no PKCS#12 PBE): unencrypted keys and legacy PEM with AES only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Profile:
    """The parse-relevant features of one Mbed TLS build."""

    name: str
    description: str
    des: bool  # MBEDTLS_DES_C: legacy PEM DES/3DES, PBES2-DES, PKCS#12-3DES
    pbes2_aes: bool  # 3.6.0+: AES-CBC inside PKCS#8 PBES2
    pkcs12_pbe: bool  # MBEDTLS_PKCS12_C (gone in 4.0)
    pkcs12_rc4: bool  # 2.x with ARC4_C only
    pkcs8_der_with_nul: bool  # PKCS#8 DER + Meadow's trailing NUL: OK up to 3.4, rejected from 3.5
    pkcs1_der_with_nul: bool  # PKCS#1 (RSA) DER + NUL: rejected from 3.6
    ski_aki_critical_ok: bool  # 3.x knows SKI/AKI, so a critical one is not "unknown"
    sec1_der_with_nul: bool = True  # SEC1 (EC) DER + NUL: accepted on 2.28, 3.5.2 and 3.6.6 (§5.3)
    rfc8410_keys: bool = False  # 3.5+: X25519/X448 keys and certificates parse (but cannot sign, §2.4, §5.3)


PROFILES: Final = {
    p.name: p
    for p in (
        Profile("meadow-f7", "Meadow F7: Mbed TLS 3.x (>= 3.2, < 3.6), default config",
                des=True, pbes2_aes=False, pkcs12_pbe=True, pkcs12_rc4=False,
                pkcs8_der_with_nul=False, pkcs1_der_with_nul=True, ski_aki_critical_ok=True, rfc8410_keys=True),
        Profile("mbedtls-2.28", "Mbed TLS 2.28 LTS, default config",
                des=True, pbes2_aes=False, pkcs12_pbe=True, pkcs12_rc4=True,
                pkcs8_der_with_nul=True, pkcs1_der_with_nul=True, ski_aki_critical_ok=False),
        Profile("mbedtls-3.6", "Mbed TLS 3.6 LTS, default config",
                des=True, pbes2_aes=True, pkcs12_pbe=True, pkcs12_rc4=False,
                pkcs8_der_with_nul=False, pkcs1_der_with_nul=False, ski_aki_critical_ok=True, rfc8410_keys=True),
        Profile("portable", "every build tested: also stock ESP-IDF (no DES) and Mbed TLS 4",
                des=False, pbes2_aes=False, pkcs12_pbe=False, pkcs12_rc4=False,
                pkcs8_der_with_nul=False, pkcs1_der_with_nul=False, ski_aki_critical_ok=False,
                sec1_der_with_nul=False),
    )
}
DEFAULT_PROFILE: Final = "meadow-f7"
