"""Repair credentials the board would reject, and import a PFX/P12 the right way.

``fix`` keeps the key material and the passphrase: it re-encodes a readable key that Mbed TLS would
reject (PKCS#8 with AES, DER, DES on a DES-less profile…) as traditional PEM with legacy AES-256-CBC
(or DES-EDE3-CBC / none), strips a trailing newline from the pass file, and writes an empty pass file
beside an unencrypted key. Key and pass file change as one crash-safe set; the original set is kept in
memory until the new one validates and put back (again as one set) if it does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from hatch_meadow.creds import der, oids, pkcs8crypt
from hatch_meadow.creds.cbc import DecryptError
from hatch_meadow.creds.files import write_credentials
from hatch_meadow.creds.generate import encode_key, new_passphrase
from hatch_meadow.creds.passphrase import pass_file_readings
from hatch_meadow.creds.pem import read_block
from hatch_meadow.creds.validate import CredentialReport, check_credentials
from hatch_meadow.creds.vocabulary import KeyEncryption, ProfileName
from hatch_meadow.errors import CredentialError
from hatch_meadow.names import CLIENT_CERT, PASS_FILE, PRIVATE_KEY

_KEY_PROBLEMS: Final = frozenset({
    "key-pbes2-aes", "key-pbes2-kdf", "key-pbes2-prf", "key-pbes2-cipher", "key-pbes1", "key-pkcs12-scheme",
    "key-pkcs12-des", "key-des-unavailable", "key-legacy-cipher", "key-der", "pass-too-long-pkcs12",
    "pass-non-ascii-pkcs12", "key-pem-framing",
})


@dataclass
class RepairResult:
    """What fix changed, and the report of the repaired set."""

    changes: list[str] = field(default_factory=list)
    report: CredentialReport | None = None


def _load_any_key(data: bytes, passwords: list[bytes]) -> tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
                                                                   bytes | None]:
    """Load a key in any encoding we or cryptography can read; return it and the password that worked.

    Raises:
        CredentialError: no password opens it, or it is not an RSA/EC key.
    """
    candidates: list[bytes | None] = [*dict.fromkeys(p for p in passwords if p), None]
    for pwd in candidates:
        for loader in (serialization.load_pem_private_key, serialization.load_der_private_key):
            try:
                key = loader(data, password=pwd)
            except (ValueError, TypeError):
                continue
            if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
                return key, pwd
            raise CredentialError(f"{PRIVATE_KEY}: a {type(key).__name__} cannot be used on Meadow (RSA and EC "
                                  "only), so it cannot be re-encoded", hint="generate new credentials: "
                                  "`hatch-meadow generate --force`")
        block = read_block(data, "ENCRYPTED PRIVATE KEY")
        if pwd and block.status == "ok" and block.body is not None:
            recovered = _decrypt_pkcs8_ourselves(block.body, pwd)
            if recovered is not None:
                return recovered, pwd
    raise CredentialError(f"{PRIVATE_KEY}: cannot be read with the passphrase in {PASS_FILE} (or the variable)",
                          hint="put the right passphrase in the pass file (or the passphrase variable) and retry; "
                          "nothing was changed")


def _decrypt_pkcs8_ourselves(body: bytes, password: bytes) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None:
    try:
        parts = der.read_single(body).children()
        oid, params = der.algorithm(parts[0])
        if oid == oids.PBES2 and params is not None:
            plain = pkcs8crypt.decrypt_pbes2(params, parts[1].value, password)
        elif oid in oids.PKCS12_PBE:
            plain = pkcs8crypt.decrypt_pkcs12(oids.PKCS12_PBE[oid], params, parts[1].value, password)
        else:
            return None
        key = serialization.load_der_private_key(plain, password=None)
    except (ValueError, TypeError, IndexError):
        return None
    return key if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) else None


def fix_credentials(
    directory: Path,
    *,
    profile: str = "meadow-f7",
    key_encryption: str | None = None,
    env_passphrase: bytes | None = None,
    device_id: str | None = None,
) -> RepairResult:
    """Repair what can be repaired without new key material; see the module docstring.

    Raises:
        CredentialError: the key cannot be read (wrong passphrase, unsupported type), a file cannot be
            read or written (nothing is lost: the original key is restored), or a backup is in the way.
    """
    with _os_errors_reported(directory):
        return _repair(directory, profile, key_encryption, env_passphrase, device_id)


@contextmanager
def _os_errors_reported(directory: Path) -> Iterator[None]:
    """Turn file-system errors into a CredentialError (nothing is lost: the original key is restored)."""
    try:
        yield
    except OSError as exc:
        where = getattr(exc, "filename", None) or directory
        raise CredentialError(f"{where}: {exc.strerror or exc}; the credentials are as they were",
                              hint="check the files' permissions and free space") from exc


def _repair(directory: Path, profile: str, key_encryption: str | None, env_passphrase: bytes | None,
            device_id: str | None) -> RepairResult:
    result = RepairResult()
    key_path, pass_path = directory / PRIVATE_KEY, directory / PASS_FILE
    before = check_credentials(directory, profile=profile, device_id=device_id)
    codes = {f.code for f in before.findings if f.severity == "error"}
    password = pass_path.read_bytes() if pass_path.is_file() else None

    if codes & {"pass-trailing-newline", "pass-bom"} and password is not None:
        readings = pass_file_readings(password)
        meant, _, what = readings[-1]  # the fullest cleaning: the one check found to decrypt the key
        password = meant
        write_credentials(directory, {PASS_FILE: password}, force=True)
        result.changes.append(f"{PASS_FILE}: removed the trailing newline" if what.startswith("ends with")
                              else f"{PASS_FILE}: rewritten as plain UTF-8 (it {what})")
        before = check_credentials(directory, profile=profile, device_id=device_id)
        codes = {f.code for f in before.findings if f.severity == "error"}

    wanted = key_encryption or ("none" if not before.encrypted and not password else "aes-256")
    if wanted == KeyEncryption.DES3 and profile == ProfileName.PORTABLE:
        raise CredentialError("des3 is not portable (no DES on stock ESP-IDF or Mbed TLS 4)",
                              hint="use --key-encryption aes-256")
    needs_passphrase = bool(codes & {"pass-missing", "pass-empty"}) and env_passphrase is not None
    if codes & _KEY_PROBLEMS or needs_passphrase or (
            key_encryption and key_path.is_file() and not _already(before, wanted)):
        _reencode_key(directory, password, env_passphrase, wanted, profile, result)

    if not pass_path.exists() and key_path.is_file():
        after = check_credentials(directory, profile=profile, device_id=device_id)
        if not after.encrypted:
            write_credentials(directory, {PASS_FILE: b""}, force=True)
            result.changes.append(f"{PASS_FILE}: written empty, so the board drops a stale passphrase")
    result.report = check_credentials(directory, profile=profile, device_id=device_id)
    return result


def _already(report: CredentialReport, wanted: str) -> bool:
    """The key is already in the form ``fix`` would write (decided on the verdict's fields, not its text)."""
    if report.key_container != "legacy-pem":
        return False
    return report.key_dek == KeyEncryption(wanted).dek


_PASS_PROBLEMS: Final = frozenset({"pass-wrong", "pass-trailing-newline", "pass-bom", "pass-empty", "pass-missing"})


def _reencode_key(directory: Path, password: bytes | None, env_passphrase: bytes | None, wanted: str,
                  profile: str, result: RepairResult) -> None:
    key_path = directory / PRIVATE_KEY
    if key_path.is_symlink():
        raise CredentialError(f"{key_path}: is a symlink; hatch-meadow never writes credentials through one",
                              hint="replace the link with the file")
    original = key_path.read_bytes()
    tries = [p for p in (password, password.rstrip(b"\r\n") if password else None, env_passphrase) if p]
    key, used = _load_any_key(original, tries)
    new_password = b""
    if wanted != "none":
        new_password = used or env_passphrase or new_passphrase()
    # Key and pass file change as one set (a crash never pairs the new key with the old passphrase); the
    # original set stays in memory and is put back, again as one set, if the result is still rejected.
    new_set: dict[str, bytes | None] = {PRIVATE_KEY: encode_key(key, wanted, new_password or None)}
    if new_password != (password or b""):
        new_set[PASS_FILE] = new_password
    write_credentials(directory, new_set, force=True)
    try:
        if PASS_FILE in new_set:
            if not new_password:
                what = "written empty (the key is no longer encrypted)"
            elif password and new_password == password.rstrip(b"\r\n"):
                what = "removed the trailing newline"
            else:
                what = "written with the key's passphrase"
            result.changes.append(f"{PASS_FILE}: {what}")
        report = check_credentials(directory, profile=profile)
        left = sorted({f.code for f in report.findings if f.severity == "error" and f.file != CLIENT_CERT}
                      & (_KEY_PROBLEMS | _PASS_PROBLEMS))
        if left:
            raise CredentialError(f"{PRIVATE_KEY}: the re-encoded key still fails ({', '.join(left)}); the original "
                                  "was put back", hint="`hatch-meadow check` shows the details")
    except BaseException:
        write_credentials(directory, {PRIVATE_KEY: original, PASS_FILE: password}, force=True)
        raise
    kept = "no passphrase now" if wanted == "none" else "passphrase kept"
    result.changes.append(f"{PRIVATE_KEY}: re-encoded as {KeyEncryption(wanted).label} (same key; {kept})")


#: A device's PFX (key, certificate, maybe a chain) is a few KiB.
MAX_PFX_BYTES: Final = 1 << 20


def _check_pfx_mac_iterations(pfx: Path, data: bytes) -> None:
    """Refuse a PFX whose MAC asks for a key-derivation bomb (10^8 rounds take half a minute) before opening it.

    Raises:
        CredentialError: the MacData iteration count is beyond the shared limit.
    """
    try:
        top = der.read_single(data).children()
        mac = top[2].children() if len(top) >= 3 else []
        iterations = int.from_bytes(mac[2].value, "big") if len(mac) >= 3 else 1
        pkcs8crypt.check_iterations(iterations, "PKCS#12 MAC")
    except (der.DerError, IndexError):
        return  # not our job to parse it: cryptography says what is wrong
    except DecryptError as exc:
        raise CredentialError(f"{pfx}: {exc}; nothing was changed", hint="re-export the PFX with a normal "
                              "iteration count (openssl pkcs12 -export uses 2048)") from exc


def import_pfx(
    pfx: Path,
    directory: Path,
    *,
    pfx_password: bytes | None,
    key_encryption: str = "aes-256",
    passphrase: bytes | None = None,
    force: bool = False,
) -> tuple[list[str], CredentialReport]:
    """Turn a PFX/P12 into the three files: the leaf certificate, the key as traditional PEM, the pass file.

    Returns:
        Notes for the user, and the validation report of the new set.

    Raises:
        CredentialError: unreadable PFX, wrong password, no key or certificate, files in the way.
    """
    try:
        if pfx.stat().st_size > MAX_PFX_BYTES:
            raise CredentialError(f"{pfx}: is {pfx.stat().st_size} bytes; a device PFX is a few KiB (at most "
                                  f"{MAX_PFX_BYTES})", hint="pass the device's .pfx / .p12 file")
        data = pfx.read_bytes()
    except OSError as exc:
        raise CredentialError(f"{pfx}: cannot read it ({exc.strerror})") from exc
    _check_pfx_mac_iterations(pfx, data)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, pfx_password)
    except ValueError as exc:
        raise CredentialError(f"{pfx}: cannot open it (wrong password, or not a PKCS#12 file)",
                              hint="set HATCH_MEADOW_PFX_PASSWORD to the PFX password; nothing was changed") from exc
    if key is None or cert is None:
        raise CredentialError(f"{pfx}: holds no {'private key' if key is None else 'certificate'}",
                              hint="export the PFX with both the certificate and its private key")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CredentialError(f"{pfx}: the key is a {type(key).__name__}; Meadow needs RSA or EC",
                              hint="generate new credentials instead")
    notes = []
    if extra:
        notes.append(f"left out {len(extra)} CA certificate(s): the board uses one certificate per client")
    secret = b"" if key_encryption == "none" else (passphrase or pfx_password or new_passphrase())
    if secret and secret != secret.strip():
        secret = new_passphrase()
        notes.append("the PFX password has surrounding whitespace, so a new random passphrase was made")
    write_credentials(directory, {
        CLIENT_CERT: cert.public_bytes(serialization.Encoding.PEM),
        PRIVATE_KEY: encode_key(key, key_encryption, secret or None),
        PASS_FILE: secret,
    }, force=force)
    return notes, check_credentials(directory)
