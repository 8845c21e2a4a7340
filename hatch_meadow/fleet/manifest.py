"""What a fleet run hands on: ``manifest.json`` / ``manifest.csv`` (one entry per device, in list order),
``iothub-import.jsonl`` (Azure IoT Hub's bulk import format) and ``azure.sh`` (the ``az`` lines).

All four are written entry by entry to temporary files beside their targets and renamed into place
together at the end, so memory stays flat with the size of the fleet and a killed run leaves the
previous outputs untouched. Nothing here ever holds a key or a passphrase.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shlex
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Final, Literal

from hatch_meadow.errors import InputError

MANIFEST_JSON: Final = "manifest.json"
MANIFEST_CSV: Final = "manifest.csv"
IOTHUB_JSONL: Final = "iothub-import.jsonl"
AZURE_SH: Final = "azure.sh"
OUTPUT_FILES: Final = (MANIFEST_JSON, MANIFEST_CSV, IOTHUB_JSONL, AZURE_SH)
SCHEMA_VERSION: Final = 1

State = Literal["issued", "kept", "requested", "failed"]
Auth = Literal["self-signed", "ca"]
AUTH_MODES: Final = ("self-signed", "ca")


@dataclass(frozen=True, slots=True)
class Entry:
    """One device in the manifest (thumbprints uppercase hex; times ISO 8601 UTC)."""

    device_id: str
    serial_number: str | None
    folder: str
    state: State
    sha1_thumbprint: str | None = None
    sha256_thumbprint: str | None = None
    cert_serial: str | None = None
    not_before: str | None = None
    not_after: str | None = None
    deployed_to: str | None = None  # the board serial that holds (or is assigned) this identity
    deployed_at: str | None = None  # when this set was deployed to it (None: not yet)
    problem: str | None = None  # why the state is "failed"
    previous_sha256_thumbprint: str | None = None  # during `fleet rotate`: the set being replaced

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def replace(self, **changes: Any) -> Entry:
        """A copy with ``changes``."""
        return Entry(**{**asdict(self), **changes})


COLUMNS: Final = tuple(Entry.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class FleetInfo:
    """The run-wide facts every output names: how Azure authenticates the devices, and the CA."""

    auth: Auth
    ca_cert: Path | None  # the fleet CA certificate (None for an external CA without --ca-cert)
    ca_name: str | None


def load_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of ``out`` as written, or None when there is none yet.

    Raises:
        InputError: it exists but is not a manifest this version can read.
    """
    path = out / MANIFEST_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the fleet manifest ({exc})",
                         hint="restore it, or delete it and run `fleet issue` again (it is rebuilt from the "
                         "device folders; deploy records are lost)") from exc
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION or not isinstance(
            data.get("devices"), list):
        raise InputError(f"{path}: not a fleet manifest of schema version {SCHEMA_VERSION}",
                         hint="use the hatch-meadow version that wrote it")
    return data


def read_fleet(out: Path) -> tuple[FleetInfo, list[Entry]]:
    """The run-wide facts and every entry of ``out``'s manifest.

    Raises:
        InputError: no manifest, or one this version cannot read.
    """
    data = load_manifest(out)
    if data is None:
        raise InputError(f"{out}: no fleet manifest here", hint="run `hatch-meadow fleet issue --out OUT` first")
    ca_cert = data.get("ca_cert")
    auth = "self-signed" if data.get("auth") == "self-signed" else "ca"
    info = FleetInfo(auth, Path(ca_cert) if isinstance(ca_cert, str) else None,  # type: ignore[arg-type]
                     data.get("ca_name") if isinstance(data.get("ca_name"), str) else None)
    return info, list(manifest_entries(out))


def write_outputs(out: Path, info: FleetInfo, entries: Iterable[Entry],
                  each: Callable[[Entry], None] | None = None) -> None:
    """Write the four outputs for ``entries`` (consumed one at a time; ``each`` sees every one after it is
    written) and put them in place together; on any failure the previous outputs stay."""
    writer = OutputWriter(out, info)
    try:
        for entry in entries:
            writer.add(entry)
            if each is not None:
                each(entry)
        writer.commit()
    except BaseException:
        writer.discard()
        raise


def manifest_entries(out: Path) -> Iterator[Entry]:
    """The entries of ``out``'s manifest (none when there is no manifest)."""
    data = load_manifest(out)
    for item in (data or {}).get("devices", []):
        if isinstance(item, dict):
            yield Entry(**{name: item.get(name) for name in COLUMNS})  # type: ignore[arg-type]


class OutputWriter:
    """Write the four outputs entry by entry; :meth:`commit` puts them all in place."""

    def __init__(self, out: Path, info: FleetInfo) -> None:
        """Start the four temporary outputs (after removing those a killed run left; call under the lock)."""
        self.out, self.info = out, info
        self.count = 0
        self.stale_removed = remove_stale_outputs(out)
        self._files: dict[str, tuple[Path, IO[str]]] = {}
        for name in OUTPUT_FILES:
            fd, temp = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")
            self._files[name] = (Path(temp), os.fdopen(fd, "w", encoding="utf-8", newline="\n"))
        self._csv = csv.writer(self._stream(MANIFEST_CSV), lineterminator="\n")
        self._csv.writerow(COLUMNS)
        header = {"schema_version": SCHEMA_VERSION, "auth": info.auth,
                  "ca_cert": None if info.ca_cert is None else str(info.ca_cert), "ca_name": info.ca_name}
        self._stream(MANIFEST_JSON).write(json.dumps(header)[:-1] + ', "devices": [')
        self._stream(AZURE_SH).write(_script_header(info))

    def _stream(self, name: str) -> IO[str]:
        return self._files[name][1]

    def add(self, entry: Entry) -> None:
        """Append one device to every output it belongs in."""
        self._stream(MANIFEST_JSON).write(("\n  " if self.count == 0 else ",\n  ") + json.dumps(entry.to_json()))
        self._csv.writerow(["" if value is None else value for value in entry.to_json().values()])
        self.count += 1
        if entry.sha256_thumbprint is None or entry.state == "failed":
            return
        self._stream(IOTHUB_JSONL).write(json.dumps(iothub_import_record(entry, self.info.auth)) + "\n")
        self._stream(AZURE_SH).write(_az_device_line(entry, self.info.auth) + "\n")

    def commit(self) -> list[Path]:
        """fsync and rename every output into place (the manifest last: it is what later runs read)."""
        self._stream(MANIFEST_JSON).write("\n]}\n")
        placed = []
        for name in (IOTHUB_JSONL, AZURE_SH, MANIFEST_CSV, MANIFEST_JSON):
            temp, stream = self._files[name]
            stream.flush()
            os.fsync(stream.fileno())
            stream.close()
            os.chmod(temp, 0o755 if name == AZURE_SH else 0o644)
            os.replace(temp, self.out / name)
            placed.append(self.out / name)
        self._files.clear()
        return placed

    def discard(self) -> None:
        """Drop the temporary outputs (after a failure): the previous ones stay."""
        for temp, stream in self._files.values():
            stream.close()
            with contextlib.suppress(OSError):
                temp.unlink()
        self._files.clear()


def remove_stale_outputs(out: Path) -> int:
    """Remove temporary outputs an interrupted run left in ``out``; how many."""
    removed = 0
    for name in OUTPUT_FILES:
        for leftover in out.glob(f".{name}.*.tmp"):
            if leftover.is_file() and not leftover.is_symlink():
                leftover.unlink(missing_ok=True)
                removed += 1
    return removed


def iothub_import_record(entry: Entry, auth: Auth) -> dict[str, Any]:
    """One line of IoT Hub's bulk import file (ExportImportDevice): create or update the device identity."""
    if auth == "ca":
        authentication: dict[str, Any] = {"type": "certificateAuthority"}
    else:
        authentication = {"type": "selfSigned", "x509Thumbprint": {
            "primaryThumbprint": entry.sha256_thumbprint,
            "secondaryThumbprint": entry.previous_sha256_thumbprint or entry.sha256_thumbprint}}
    return {"id": entry.device_id, "importMode": "createOrUpdate", "status": "enabled",
            "authentication": authentication}


def _script_header(info: FleetInfo) -> str:
    buf = io.StringIO()
    buf.write("#!/bin/sh\n# Register this fleet with Azure IoT Hub (written by `hatch-meadow fleet`; no secrets).\n")
    buf.write("# Set HUB (and for DPS, DPS and GROUP) first, e.g.: HUB=my-hub sh azure.sh\nset -eu\n")
    buf.write(': "${HUB:?set HUB to your IoT hub name}"\n')
    if info.auth == "ca":
        if info.ca_cert is None:
            buf.write("# The CA certificate was not given (--ca-cert); upload and verify your CA yourself:\n"
                      '# az iot hub certificate create --hub-name "$HUB" --name NAME --path CA.pem --verified\n')
        else:
            name = shlex.quote(_az_certificate_name(info.ca_name or "fleet-ca"))
            path = shlex.quote(str(info.ca_cert))
            buf.write(f"# The fleet CA, uploaded as verified (proof of possession is done by whoever runs this):\n"
                      f'az iot hub certificate create --hub-name "$HUB" --name {name} --path {path} --verified\n'
                      f"# Or, with the Device Provisioning Service instead of per-device identities:\n"
                      f'# az iot dps enrollment-group create --dps-name "$DPS" --enrollment-id "$GROUP" '
                      f"--certificate-path {path}\n")
    return buf.getvalue()


def _az_device_line(entry: Entry, auth: Auth) -> str:
    if auth == "self-signed" and entry.previous_sha256_thumbprint and entry.sha256_thumbprint:
        return az_thumbprint_update(entry.device_id, entry.sha256_thumbprint, entry.previous_sha256_thumbprint)
    words = ["az", "iot", "hub", "device-identity", "create", "--hub-name", "HUB", "--device-id", entry.device_id]
    if auth == "ca":
        words += ["--am", "x509_ca"]
    else:
        assert entry.sha256_thumbprint is not None
        words += ["--am", "x509_thumbprint", "--ptp", entry.sha256_thumbprint, "--stp", entry.sha256_thumbprint]
    return shlex.join(words).replace(" HUB ", ' "$HUB" ', 1)


def az_thumbprint_update(device_id: str, primary: str, secondary: str) -> str:
    """The ``az`` line that sets a registered device's two thumbprints (a rotation), hub from ``$HUB``."""
    from hatch_meadow.rotation import az_update_command

    return az_update_command(device_id, primary, secondary, "HUB").replace(" HUB ", ' "$HUB" ', 1)


def _az_certificate_name(name: str) -> str:
    """IoT Hub certificate names: letters, digits, - and _ only."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in name).strip("-") or "fleet-ca"
