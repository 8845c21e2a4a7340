"""The credentials vocabulary, typed: key types, key encryptions, the profiles' names, the device-id rule.

Option parsers (``config``, the CLI, the template's questions) take their choices from here; code that acts
on a choice uses the enum's properties instead of matching strings. ``creds`` depends on nothing above it.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Final


class KeyType(str, Enum):
    """A key `generate` makes (RSA 2048 to 4096, EC P-256/P-384: what every Meadow Mbed TLS signs with)."""

    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"

    @property
    def rsa_bits(self) -> int | None:
        """The RSA modulus size, or None for an EC key."""
        return int(self.value[4:]) if self.value.startswith("rsa-") else None

    @property
    def curve(self) -> str | None:
        """The EC curve's cryptography name, or None for an RSA key."""
        return {"ec-p256": "secp256r1", "ec-p384": "secp384r1"}.get(self.value)


class KeyEncryption(str, Enum):
    """How the key file is encrypted: legacy PEM (every Mbed TLS build parses it) or not at all."""

    AES_256 = "aes-256"
    DES3 = "des3"
    NONE = "none"

    @property
    def dek(self) -> str | None:
        """The legacy PEM DEK-Info cipher name, or None for an unencrypted key."""
        return {"aes-256": "AES-256-CBC", "des3": "DES-EDE3-CBC"}.get(self.value)

    @property
    def label(self) -> str:
        """How people read it."""
        return f"legacy PEM {self.dek}" if self.dek else "unencrypted PEM"


class ProfileName(str, Enum):
    """Which Mbed TLS build `check` predicts for (see :mod:`hatch_meadow.creds.profiles`)."""

    MEADOW_F7 = "meadow-f7"
    MBEDTLS_2_28 = "mbedtls-2.28"
    MBEDTLS_3_6 = "mbedtls-3.6"
    PORTABLE = "portable"


KEY_TYPES: Final = tuple(k.value for k in KeyType)
KEY_ENCRYPTIONS: Final = tuple(e.value for e in KeyEncryption)
PROFILE_NAMES: Final = tuple(p.value for p in ProfileName)

#: The device id is the certificate's CN, which RFC 5280 (ub-common-name) limits to 64 characters;
#: Azure IoT Hub allows 128 but expects CN = device id, so 64 is the one rule everywhere.
MAX_DEVICE_ID_CHARS: Final = 64
#: Azure IoT Hub device ids: ASCII letters, digits and these characters.
DEVICE_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9\-.+%_#*?!(),:=@$']{1,64}")


def device_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a device id (Azure IoT Hub's characters, and it must fit the certificate's CN),
    or None if it is fine. The one rule for the hook, ``check``, ``generate`` and ``new``."""
    if not value:
        return "must not be empty"
    if len(value) > MAX_DEVICE_ID_CHARS:
        return (f"must be at most {MAX_DEVICE_ID_CHARS} characters, not {len(value)}: it is also the certificate's "
                f"CN, which X.509 limits to {MAX_DEVICE_ID_CHARS} (Azure itself allows 128)")
    bad = sorted({c for c in value if not DEVICE_ID_PATTERN.fullmatch(c)})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return (
            f"contains {shown}, which Azure IoT Hub does not allow in a device id "
            "(letters, digits and - . + % _ # * ? ! ( ) , : = @ $ ' only)"
        )
    return None
