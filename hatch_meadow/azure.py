"""The Azure IoT Hub registration line, shell-quoted (no imports beyond the standard library: printed by
`generate` and `thumbprint`)."""

from __future__ import annotations

from typing import Final

#: Stand-ins that are safe to paste (no shell syntax): az then fails with "not found", nothing else runs.
HUB_PLACEHOLDER: Final = "YOUR-IOT-HUB"
DEVICE_PLACEHOLDER: Final = "YOUR-DEVICE-ID"


def az_register_command(device_id: str | None, sha256: str, hub: str | None = None) -> str:
    """``az iot hub device-identity create …`` for an X.509 self-signed device, every value shell-quoted
    (a certificate's CN may hold ``$(…)``; it is the board's file, not ours)."""
    import shlex

    return shlex.join(["az", "iot", "hub", "device-identity", "create", "--hub-name", hub or HUB_PLACEHOLDER,
                       "--device-id", device_id or DEVICE_PLACEHOLDER, "--am", "x509_thumbprint", "--ptp", sha256,
                       "--stp", sha256])
