"""Thumbprints for Azure IoT Hub X.509 self-signed devices: hex SHA-1 / SHA-256 of the DER certificate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hatch_meadow.azure import az_register_command
from hatch_meadow.creds.certcheck import parse_certificate
from hatch_meadow.creds.files import read_file
from hatch_meadow.creds.pem import read_block
from hatch_meadow.errors import CredentialError
from hatch_meadow.names import CLIENT_CERT


@dataclass(frozen=True, slots=True)
class Thumbprint:
    """A certificate's identity for registration."""

    device_id: str | None
    sha1: str
    sha256: str

    def az_command(self, hub: str | None = None) -> str:
        """The exact az CLI line that registers the device with this certificate (shell-quoted)."""
        return az_register_command(self.device_id, self.sha256, hub)


def load_thumbprint(directory: Path) -> Thumbprint:
    """Thumbprints of the first certificate in ``directory/client_cert.pem``.

    Raises:
        CredentialError: missing, unreadable or unparsable certificate.
    """
    state = read_file(directory, CLIENT_CERT)
    path = state.path
    if state.data is None:
        raise CredentialError(f"{path}: {state.problem or 'no such file'}",
                              hint="run `hatch-meadow generate` or pass --dir")
    data = state.data
    block = read_block(data, "CERTIFICATE")
    body = block.body if block.status == "ok" else data if data[:1] == b"\x30" else None
    if body is None:
        raise CredentialError(f"{path}: holds no readable certificate", hint="`hatch-meadow check` tells why")
    try:
        info = parse_certificate(body, allow_trailing=True)
    except ValueError as exc:
        raise CredentialError(f"{path}: the certificate does not parse ({exc})",
                              hint="`hatch-meadow check` tells why") from exc
    return Thumbprint(device_id=info.subject_cn, sha1=info.sha1, sha256=info.sha256)
