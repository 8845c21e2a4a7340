"""`hatch-meadow generate`, `thumbprint` and `clear`: the files, the key, the certificate and the refusals."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatch_meadow.cli import main
from hatch_meadow.creds import der
from hatch_meadow.creds.certbuild import BACKDATE
from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.creds.validate import check_credentials
from hatch_meadow.errors import CredentialError
from hatch_meadow.names import CLIENT_CERT, CREDENTIAL_FILES, PASS_FILE, PRIVATE_KEY

DEVICE = "meadow-test-01"
DAYS = 90
ENV = "HATCH_MEADOW_KEY_PASSPHRASE"
PRINTABLE = frozenset(range(0x21, 0x7F))  # printable ASCII without space
#: Every small key type with every encryption; RSA-3072/4096 are slow, so one encryption each.
COMBOS = [
    *((kt, enc) for kt in ("rsa-2048", "ec-p256", "ec-p384") for enc in ("aes-256", "des3", "none")),
    ("rsa-3072", "aes-256"),
    ("rsa-4096", "des3"),
]


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real OpenSSL CLI."""
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60, check=False)


@dataclass
class Made:
    """One generated credential set, shared read-only by the tests of its combination."""

    directory: Path
    key_type: str
    encryption: str
    now: datetime

    @property
    def key(self) -> Path:
        return self.directory / PRIVATE_KEY

    @property
    def cert_path(self) -> Path:
        return self.directory / CLIENT_CERT

    @property
    def pass_file(self) -> Path:
        return self.directory / PASS_FILE

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_path.read_bytes())


@pytest.fixture(scope="module", params=COMBOS, ids=[f"{k}-{e}" for k, e in COMBOS])
def made(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Made:
    """Credentials generated once per (key type, encryption)."""
    key_type, encryption = request.param
    now = datetime.now(timezone.utc).replace(microsecond=0)
    directory = tmp_path_factory.mktemp(f"{key_type}-{encryption}") / "creds"
    generate_credentials(directory, device_id=DEVICE, key_type=key_type, key_encryption=encryption, days=DAYS,
                         now=now)
    return Made(directory, key_type, encryption, now)


@dataclass
class Run:
    """One in-process CLI run."""

    code: int
    out: str
    err: str


@dataclass
class Cli:
    """Runs `hatch-meadow` in-process and checks that no secret in ``root`` ever reaches its output."""

    root: Path
    capsys: pytest.CaptureFixture[str]
    runs: list[Run] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    def __call__(self, *args: str) -> Run:
        self.capsys.readouterr()
        code = main(list(args))
        captured = self.capsys.readouterr()
        run = Run(code, captured.out, captured.err)
        self.runs.append(run)
        self.secrets |= _secrets_under(self.root)
        leaked = [s for s in self.secrets for r in self.runs if s in r.out or s in r.err]
        assert leaked == [], "a passphrase or key material reached the CLI output"
        return run


def _secrets_under(root: Path) -> set[str]:
    """Every non-empty passphrase and every base64 line of every private key below ``root``."""
    found: set[str] = set()
    for path in root.rglob(PASS_FILE):
        if path.is_file() and not path.is_symlink() and path.read_bytes():
            found.add(path.read_bytes().decode("utf-8", "replace"))
    for path in root.rglob(PRIVATE_KEY):
        if path.is_file() and not path.is_symlink():
            found |= {line for line in path.read_text("ascii", "replace").splitlines()
                      if len(line) >= 16 and not line.startswith(("-----", "Proc-Type", "DEK-Info"))}
    return found


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI in a folder without a pyproject.toml, with no terminal on stdin."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return Cli(tmp_path, capsys)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    """Bytes, mtime (ns) and mode of each credential file."""
    result = {}
    for name in CREDENTIAL_FILES:
        info = (directory / name).lstat()
        result[name] = ((directory / name).read_bytes(), info.st_mtime_ns, stat.S_IMODE(info.st_mode))
    return result


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- every key type x encryption ---------------------------------------------------------------------------------


def test_generate_files_have_private_and_public_modes(made: Made) -> None:
    """The key and the pass file are 0600, the certificate 0644, and nothing else is left in the folder."""
    assert sorted(p.name for p in made.directory.iterdir()) == sorted(CREDENTIAL_FILES)
    assert (mode(made.key), mode(made.pass_file), mode(made.cert_path)) == (0o600, 0o600, 0o644)


def test_generate_pass_file_is_strong_or_empty(made: Made) -> None:
    """The pass file is >= 128 bits of printable non-whitespace ASCII without a newline; empty for "none"."""
    secret = made.pass_file.read_bytes()
    if made.encryption == "none":
        assert secret == b""
        return
    assert not secret.endswith((b"\n", b"\r"))
    assert set(secret) <= PRINTABLE
    alphabet_bits = 6  # the generator's 64-symbol alphabet
    assert len(secret) * alphabet_bits >= 128


def test_generate_key_pem_headers_match_type_and_encryption(made: Made) -> None:
    """Traditional PEM: RSA/EC header, then Proc-Type and the DEK-Info cipher (none: no Proc-Type)."""
    lines = made.key.read_text("ascii").splitlines()
    label = "RSA PRIVATE KEY" if made.key_type.startswith("rsa") else "EC PRIVATE KEY"
    assert lines[0] == f"-----BEGIN {label}-----"
    assert lines[-1] == f"-----END {label}-----"
    if made.encryption == "none":
        assert not any(line.startswith(("Proc-Type", "DEK-Info")) for line in lines)
        return
    dek = {"aes-256": "AES-256-CBC,", "des3": "DES-EDE3-CBC,"}[made.encryption]
    iv_hex = {"aes-256": 32, "des3": 16}[made.encryption]
    assert lines[1] == "Proc-Type: 4,ENCRYPTED"
    assert lines[2].startswith(f"DEK-Info: {dek}")
    assert len(lines[2]) == len(f"DEK-Info: {dek}") + iv_hex


def test_generate_key_opens_with_openssl_pkey(made: Made) -> None:
    """`openssl pkey -passin file:private_key_pass.txt` decrypts the key, and it is the certificate's key."""
    passin = [] if made.encryption == "none" else ["-passin", f"file:{made.pass_file}"]
    proc = openssl("pkey", "-in", str(made.key), *passin, "-pubout")
    assert proc.returncode == 0, proc.stderr
    public = serialization.load_pem_public_key(proc.stdout.encode())
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert public.public_bytes(serialization.Encoding.DER, spki) == made.cert.public_key().public_bytes(
        serialization.Encoding.DER, spki)


def test_generate_key_wrong_passphrase_fails_only_when_encrypted(made: Made) -> None:
    """A wrong passphrase does not open an encrypted key in OpenSSL (an unencrypted one ignores it)."""
    proc = openssl("pkey", "-in", str(made.key), "-passin", "pass:not-the-passphrase", "-noout")
    assert (proc.returncode == 0) is (made.encryption == "none")


def test_generate_key_passes_openssl_rsa_or_ec_check(made: Made) -> None:
    """`openssl rsa|ec -passin pass:PW -check -noout` reads the key back and finds it valid."""
    passin = [] if made.encryption == "none" else ["-passin", f"pass:{made.pass_file.read_text('ascii')}"]
    if made.key_type.startswith("rsa"):
        proc = openssl("rsa", "-in", str(made.key), *passin, "-check", "-noout")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "RSA key ok"
    else:
        proc = openssl("ec", "-in", str(made.key), *passin, "-check", "-noout")
        assert proc.returncode == 0, proc.stderr
        assert "EC Key valid." in proc.stdout + proc.stderr


def test_generate_certificate_is_self_signed_v3_client_cert(made: Made) -> None:
    """CN = device id = issuer, v3, positive >= 64-bit serial, SHA-256, backdated 5 min, valid DAYS days."""
    cert = made.cert
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DEVICE)])
    assert cert.version == x509.Version.v3
    assert (cert.subject, cert.issuer) == (name, name)
    cert.verify_directly_issued_by(cert)
    assert cert.serial_number > 0
    assert cert.serial_number.bit_length() >= 64
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    expected_sig = (SignatureAlgorithmOID.RSA_WITH_SHA256 if made.key_type.startswith("rsa")
                    else SignatureAlgorithmOID.ECDSA_WITH_SHA256)
    assert cert.signature_algorithm_oid == expected_sig
    assert made.now - cert.not_valid_before_utc == BACKDATE
    assert timedelta(minutes=1) <= BACKDATE <= timedelta(minutes=15)
    assert cert.not_valid_after_utc == made.now + timedelta(days=DAYS)


def test_generate_certificate_key_type_matches(made: Made) -> None:
    """The certificate carries an RSA key of the asked size or an EC key on the asked curve."""
    public = made.cert.public_key()
    if made.key_type.startswith("rsa"):
        assert isinstance(public, rsa.RSAPublicKey)
        assert public.key_size == int(made.key_type[4:])
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert public.curve.name == {"ec-p256": "secp256r1", "ec-p384": "secp384r1"}[made.key_type]


def test_generate_certificate_extensions(made: Made) -> None:
    """CA:FALSE critical, keyUsage digitalSignature (+keyEncipherment for RSA), EKU clientAuth, SKI present."""
    cert = made.cert
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert (basic.critical, basic.value.ca, basic.value.path_length) == (True, False, None)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    is_rsa = made.key_type.startswith("rsa")
    assert (usage.digital_signature, usage.key_encipherment) == (True, is_rsa)
    assert not any((usage.content_commitment, usage.data_encipherment, usage.key_agreement, usage.key_cert_sign,
                    usage.crl_sign))
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())


@pytest.mark.parametrize("profile", ["meadow-f7", "mbedtls-2.28", "mbedtls-3.6"])
def test_generate_output_accepted_by_mbedtls_profiles(made: Made, profile: str) -> None:
    """The checker predicts accept with a matching pair and no findings on every DES-capable profile."""
    report = check_credentials(made.directory, profile=profile, device_id=DEVICE)
    assert (report.parse, report.pair, report.findings) == ("accept", "match", [])
    assert report.encrypted is (made.encryption != "none")


def test_generate_output_on_portable_profile(made: Made) -> None:
    """The portable profile (no DES) accepts AES and unencrypted keys and rejects DES3 as key-des-unavailable."""
    report = check_credentials(made.directory, profile="portable", device_id=DEVICE)
    if made.encryption == "des3":
        assert report.parse == "reject"
        assert [(f.code, f.severity, f.file) for f in report.findings] == [
            ("key-des-unavailable", "error", PRIVATE_KEY)]
    else:
        assert (report.parse, report.pair, report.findings) == ("accept", "match", [])


# --- passphrase --------------------------------------------------------------------------------------------------


def test_generate_cli_passphrase_from_env_is_pass_file(cli: Cli, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """HATCH_MEADOW_KEY_PASSPHRASE becomes the pass file byte for byte, and it decrypts the key."""
    monkeypatch.setenv(ENV, "Correct-Horse_Battery-Staple-42")
    target = tmp_path / "creds"
    run = cli("generate", "--dir", str(target), "--device-id", DEVICE, "--key-type", "ec-p256", "--json")
    assert run.code == 0, run.err
    assert (target / PASS_FILE).read_bytes() == b"Correct-Horse_Battery-Staple-42"
    assert json.loads(run.out)["passphrase"] == f"env:{ENV}"
    assert check_credentials(target).parse == "accept"


def test_generate_cli_passphrase_env_option_names_variable(cli: Cli, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """--passphrase-env NAME reads that variable instead of the default one."""
    monkeypatch.setenv("MY_KEY_PASS", "from-my-variable")
    monkeypatch.setenv(ENV, "from-the-default-variable")
    target = tmp_path / "creds"
    run = cli("generate", "--dir", str(target), "--device-id", DEVICE, "--key-type", "ec-p256",
              "--passphrase-env", "MY_KEY_PASS", "--json")
    assert run.code == 0, run.err
    assert (target / PASS_FILE).read_bytes() == b"from-my-variable"
    assert json.loads(run.out)["passphrase"] == "env:MY_KEY_PASS"


def test_generate_library_passphrase_bytes_are_pass_file(tmp_path: Path) -> None:
    """passphrase= is written exactly (UTF-8 included) and the checker decrypts the key with it."""
    secret = "pässwörd-Ω-42".encode()
    made = generate_credentials(tmp_path, device_id=DEVICE, key_type="ec-p256", key_encryption="des3",
                                passphrase=secret, passphrase_source="test")
    assert (tmp_path / PASS_FILE).read_bytes() == secret
    assert made.passphrase_source == "test"
    assert check_credentials(tmp_path).parse == "accept"


@pytest.mark.parametrize("padded", [" leading", "trailing ", "newline\n", "crlf\r\n", "\ttab"])
def test_generate_cli_whitespace_passphrase_exits_2(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    padded: str) -> None:
    """A passphrase with surrounding whitespace is refused (exit 2) and nothing is written."""
    monkeypatch.setenv(ENV, padded)
    target = tmp_path / "creds"
    run = cli("generate", "--dir", str(target), "--device-id", DEVICE, "--key-type", "ec-p256")
    assert run.code == 2
    assert "whitespace" in run.err
    assert not target.exists()


@pytest.mark.parametrize("padded", [b" x", b"x ", b"x\n", b"x\r\n"])
def test_generate_library_whitespace_passphrase_raises(tmp_path: Path, padded: bytes) -> None:
    """generate_credentials(passphrase=...) with surrounding whitespace raises CredentialError, writing nothing."""
    with pytest.raises(CredentialError, match="whitespace") as info:
        generate_credentials(tmp_path / "creds", device_id=DEVICE, key_type="ec-p256", passphrase=padded)
    assert info.value.exit_code == 2
    assert not (tmp_path / "creds").exists()


def test_generate_none_encryption_ignores_env_passphrase(cli: Cli, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """--key-encryption none writes an empty pass file even when the passphrase variable is set."""
    monkeypatch.setenv(ENV, "unused-passphrase")
    target = tmp_path / "creds"
    run = cli("generate", "--dir", str(target), "--device-id", DEVICE, "--key-type", "ec-p256",
              "--key-encryption", "none", "--json")
    assert run.code == 0, run.err
    assert (target / PASS_FILE).read_bytes() == b""
    assert json.loads(run.out)["passphrase"] == "none"


# --- refusals ----------------------------------------------------------------------------------------------------


def _generate(cli: Cli, target: Path, *extra: str) -> Run:
    return cli("generate", "--dir", str(target), "--device-id", DEVICE, "--key-type", "ec-p256", *extra)


def test_generate_cli_refuses_to_overwrite_without_force(cli: Cli, tmp_path: Path) -> None:
    """A second generate without --force exits 2 and leaves every file byte-for-byte, mtime and mode."""
    target = tmp_path / "creds"
    assert _generate(cli, target).code == 0
    before = snapshot(target)
    run = _generate(cli, target)
    assert run.code == 2
    assert "refusing to overwrite" in run.err
    assert "--force" in run.err
    assert snapshot(target) == before


def test_generate_cli_refuses_when_only_one_file_exists(cli: Cli, tmp_path: Path) -> None:
    """A lone existing pass file is also protected: exit 2, it is unchanged and no other file appears."""
    target = tmp_path / "creds"
    target.mkdir()
    (target / PASS_FILE).write_bytes(b"keep-me")
    run = _generate(cli, target)
    assert run.code == 2
    assert sorted(p.name for p in target.iterdir()) == [PASS_FILE]
    assert (target / PASS_FILE).read_bytes() == b"keep-me"


def test_generate_cli_force_replaces_credentials(cli: Cli, tmp_path: Path) -> None:
    """--force writes a new key, certificate and passphrase with the same modes."""
    target = tmp_path / "creds"
    assert _generate(cli, target).code == 0
    before = snapshot(target)
    run = _generate(cli, target, "--force")
    assert run.code == 0, run.err
    after = snapshot(target)
    assert all(after[name][0] != before[name][0] for name in CREDENTIAL_FILES)
    assert [after[name][2] for name in CREDENTIAL_FILES] == [0o644, 0o600, 0o600]
    assert check_credentials(target).pair == "match"


@pytest.mark.parametrize("force", [False, True], ids=["no-force", "force"])
def test_generate_cli_refuses_symlinked_key(cli: Cli, tmp_path: Path, force: bool) -> None:
    """A symlink at private_key.pem is refused even with --force; the link and its target stay as they were."""
    target = tmp_path / "creds"
    assert _generate(cli, target).code == 0
    elsewhere = tmp_path / "elsewhere.pem"
    elsewhere.write_bytes(b"not a key, must stay\n")
    (target / PRIVATE_KEY).unlink()
    (target / PRIVATE_KEY).symlink_to(elsewhere)
    cert_before = (target / CLIENT_CERT).read_bytes()
    pass_before = (target / PASS_FILE).read_bytes()
    run = _generate(cli, target, *(["--force"] if force else []))
    assert run.code == 2
    assert os.readlink(target / PRIVATE_KEY) == str(elsewhere)
    assert elsewhere.read_bytes() == b"not a key, must stay\n"
    assert (target / CLIENT_CERT).read_bytes() == cert_before
    assert (target / PASS_FILE).read_bytes() == pass_before
    if force:
        assert "symlink" in run.err


@pytest.mark.parametrize(("force", "message"), [(False, "already exist"), (True, "is a directory")],
                         ids=["no-force", "force"])
def test_generate_cli_directory_in_place_of_file_exits_2(cli: Cli, tmp_path: Path, force: bool,
                                                         message: str) -> None:
    """A folder named client_cert.pem stops generate with exit 2 and a message; nothing is written."""
    target = tmp_path / "creds"
    (target / CLIENT_CERT).mkdir(parents=True)
    run = _generate(cli, target, *(["--force"] if force else []))
    assert run.code == 2
    assert message in run.err
    assert sorted(p.name for p in target.iterdir()) == [CLIENT_CERT]
    assert list((target / CLIENT_CERT).iterdir()) == []


@pytest.mark.parametrize("device_id", ["has space", "x" * 129, "slash/inside", ""],
                         ids=["space", "129-chars", "slash", "empty"])
def test_generate_cli_bad_device_id_exits_2(cli: Cli, tmp_path: Path, device_id: str) -> None:
    """An id Azure IoT Hub would refuse (space, > 128 characters, '/', empty) exits 2 and writes nothing."""
    target = tmp_path / "creds"
    run = cli("generate", "--dir", str(target), "--device-id", device_id, "--key-type", "ec-p256")
    assert run.code == 2
    assert "device id" in run.err
    assert not target.exists()


def test_generate_cli_64_char_device_id_is_the_cn(cli: Cli, tmp_path: Path) -> None:
    """A 64-character id (X.509's CN limit) is accepted and becomes the CN."""
    device_id = "d" * 64
    target = tmp_path / "creds"
    run = cli("generate", "--dir", str(target), "--device-id", device_id, "--key-type", "ec-p256")
    assert run.code == 0, run.err
    cert = x509.load_pem_x509_certificate((target / CLIENT_CERT).read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == device_id


@pytest.mark.parametrize("length", [65, 100, 128])
def test_check_and_generate_agree_on_long_device_ids(cli: Cli, tmp_path: Path, length: int) -> None:
    """A 65..128-character device id (valid for Azure, too long for the CN): `check` of a project with it and
    `generate` both refuse it with exit 2, with the same reason; nothing is written."""
    device_id = "d" * length
    target = tmp_path / "creds"
    run = cli("generate", "--dir", str(target), "--device-id", device_id, "--key-type", "ec-p256")
    assert run.code == 2
    assert f"must be at most 64 characters, not {length}" in run.err
    assert not target.exists()
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\n[tool.hatch.build.hooks.meadow]\n'
        f'device-id = "{device_id}"\n')
    checked = cli("check", "--project", str(project))
    assert checked.code == 2, checked.err
    assert f"must be at most 64 characters, not {length}" in checked.err


# --- output ------------------------------------------------------------------------------------------------------


def test_generate_cli_json_has_thumbprints_and_no_secrets(cli: Cli, tmp_path: Path) -> None:
    """--json prints one object with the thumbprints of the written certificate and nothing secret."""
    target = tmp_path / "creds"
    run = cli("generate", "--dir", str(target), "--device-id", DEVICE, "--key-type", "ec-p256", "--json")
    assert run.code == 0, run.err
    payload = json.loads(run.out)
    der = x509.load_pem_x509_certificate((target / CLIENT_CERT).read_bytes()).public_bytes(
        serialization.Encoding.DER)
    sha1 = hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
    sha256 = hashlib.sha256(der).hexdigest().upper()
    assert payload["thumbprints"] == {"sha1": sha1, "sha256": sha256}
    assert (payload["ok"], payload["device_id"], payload["key_type"], payload["key_encryption"],
            payload["passphrase"]) == (True, DEVICE, "ec-p256", "aes-256", "generated")
    assert payload["files"] == [str(target / n) for n in CREDENTIAL_FILES]
    assert payload["az"] == (f"az iot hub device-identity create --hub-name YOUR-IOT-HUB --device-id {DEVICE} "
                             f"--am x509_thumbprint --ptp {sha256} --stp {sha256}")
    pass_text = (target / PASS_FILE).read_text("ascii")
    assert pass_text not in run.out
    assert pass_text not in run.err
    assert "PRIVATE KEY" not in run.out


def test_generate_cli_human_output_has_no_secrets(cli: Cli, tmp_path: Path) -> None:
    """The human-readable output names the files and the thumbprint but never the passphrase or the key."""
    target = tmp_path / "creds"
    run = cli("generate", "--dir", str(target), "--device-id", DEVICE, "--key-type", "ec-p256",
              "--key-encryption", "des3")
    assert run.code == 0, run.err
    assert f"wrote {target / PRIVATE_KEY}" in run.out
    assert "ec-p256, des3, a new random passphrase" in run.out
    assert (target / PASS_FILE).read_text("ascii") not in run.out + run.err
    assert "PRIVATE KEY" not in run.out + run.err


# --- thumbprint --------------------------------------------------------------------------------------------------


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    """An RSA-2048 credential set in tmp_path/creds."""
    target = tmp_path / "creds"
    generate_credentials(target, device_id=DEVICE)
    return target


def _openssl_fingerprint(cert: Path, digest: str) -> str:
    proc = openssl("x509", "-in", str(cert), "-noout", "-fingerprint", f"-{digest}")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().split("=", 1)[1].replace(":", "")


def test_thumbprint_json_matches_openssl_fingerprints(cli: Cli, generated: Path) -> None:
    """`thumbprint --json` sha1/sha256 are OpenSSL's fingerprints without colons."""
    run = cli("thumbprint", "--dir", str(generated), "--json")
    assert run.code == 0, run.err
    payload = json.loads(run.out)
    cert = generated / CLIENT_CERT
    assert payload["sha1"] == _openssl_fingerprint(cert, "sha1")
    assert payload["sha256"] == _openssl_fingerprint(cert, "sha256")
    assert payload["device_id"] == DEVICE


def test_thumbprint_az_line_is_exact(cli: Cli, generated: Path) -> None:
    """The az line registers the device with the SHA-256 thumbprint as primary and secondary."""
    run = cli("thumbprint", "--dir", str(generated), "--hub", "my-hub", "--json")
    assert run.code == 0, run.err
    tp = _openssl_fingerprint(generated / CLIENT_CERT, "sha256")
    assert json.loads(run.out)["az"] == (f"az iot hub device-identity create --hub-name my-hub --device-id {DEVICE} "
                                         f"--am x509_thumbprint --ptp {tp} --stp {tp}")


def test_thumbprint_human_output_ends_with_az_line(cli: Cli, generated: Path) -> None:
    """Without --json the last line is the az command."""
    run = cli("thumbprint", "--dir", str(generated), "--hub", "HUB")
    assert run.code == 0, run.err
    tp = _openssl_fingerprint(generated / CLIENT_CERT, "sha256")
    assert run.out.strip().splitlines()[-1] == (
        f"az iot hub device-identity create --hub-name HUB --device-id {DEVICE} --am x509_thumbprint "
        f"--ptp {tp} --stp {tp}")


def test_thumbprint_missing_certificate_exits_2(cli: Cli, tmp_path: Path) -> None:
    """No client_cert.pem: exit 2 naming the file."""
    run = cli("thumbprint", "--dir", str(tmp_path))
    assert run.code == 2
    assert CLIENT_CERT in run.err


def _cert_with_empty_extension(cert_pem: bytes) -> bytes:
    """The same certificate with an empty Extension SEQUENCE appended (structurally broken)."""
    def tlv(tag: int, body: bytes) -> bytes:
        size = len(body)
        head = bytes([size]) if size < 0x80 else bytes([0x80 | 2]) + size.to_bytes(2, "big")
        return bytes([tag]) + head + body

    outer = der.read_single(x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER))
    tbs, alg, sig = outer.children()
    fields = tbs.children()
    extensions = der.read_single(fields[7].value).children()
    new_ext = tlv(0xA3, tlv(0x30, b"".join(e.raw for e in extensions) + b"\x30\x00"))
    new_tbs = tlv(0x30, b"".join(f.raw for f in fields[:7]) + new_ext)
    body = tlv(0x30, new_tbs + alg.raw + sig.raw)
    return b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(body) + b"-----END CERTIFICATE-----\n"


def test_thumbprint_broken_certificate_exits_2(cli: Cli, generated: Path) -> None:
    """A certificate with an empty extension is an input error (exit 2), not a bug (exit 70)."""
    cert = generated / CLIENT_CERT
    cert.write_bytes(_cert_with_empty_extension(cert.read_bytes()))
    assert check_credentials(generated).findings[0].code == "cert-invalid"
    run = cli("thumbprint", "--dir", str(generated))
    assert run.code == 2


# --- clear -------------------------------------------------------------------------------------------------------


def test_clear_yes_leaves_empty_files_reported_as_cleared(cli: Cli, generated: Path) -> None:
    """`clear --yes` empties the three files (key/pass 0600) and `check` then warns `cleared`, parse accept."""
    run = cli("clear", "--dir", str(generated), "--yes")
    assert run.code == 0, run.err
    assert {n: (generated / n).read_bytes() for n in CREDENTIAL_FILES} == dict.fromkeys(CREDENTIAL_FILES, b"")
    assert (mode(generated / PRIVATE_KEY), mode(generated / PASS_FILE)) == (0o600, 0o600)
    check = cli("check", "--dir", str(generated), "--json")
    report = json.loads(check.out)
    assert check.code == 0
    assert (report["ok"], report["parse"], report["pair"], report["thumbprints"]) == (True, "accept", "n/a", None)
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("cleared", "warning")]


def test_clear_json_lists_cleared_files(cli: Cli, generated: Path) -> None:
    """`clear --yes --json` lists the three emptied paths."""
    run = cli("clear", "--dir", str(generated), "--yes", "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out) == {"schema_version": 1, "ok": True,
                                   "cleared": [str(generated / n) for n in CREDENTIAL_FILES]}


def test_clear_without_yes_and_no_tty_exits_2_unchanged(cli: Cli, generated: Path) -> None:
    """Without --yes and without a terminal, clear refuses (exit 2) and changes nothing."""
    before = snapshot(generated)
    run = cli("clear", "--dir", str(generated))
    assert run.code == 2
    assert "--yes" in run.err
    assert snapshot(generated) == before


def test_clear_refuses_symlinked_pass_file(cli: Cli, generated: Path, tmp_path: Path) -> None:
    """clear never writes through a symlink: exit 2, the link target keeps its content."""
    real = tmp_path / "real_pass.txt"
    real.write_bytes(b"keep")
    (generated / PASS_FILE).unlink()
    (generated / PASS_FILE).symlink_to(real)
    key_before = (generated / PRIVATE_KEY).read_bytes()
    run = cli("clear", "--dir", str(generated), "--yes")
    assert run.code == 2
    assert real.read_bytes() == b"keep"
    assert (generated / PRIVATE_KEY).read_bytes() == key_before



def test_clear_in_a_folder_without_credentials_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    """`clear --yes` in a folder with no credential files that is no project's credentials folder: exit 2,
    nothing created (it used to create three empty files)."""
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    run = cli("clear", "--dir", str(empty), "--yes")
    assert run.code == 2
    assert "nothing to clear" in run.err
    assert list(empty.iterdir()) == []


# --- one device-id rule for every command (issue #9) --------------------------------------------------------------

_ID_ALPHABET = st.sampled_from([*"abcXYZ019-._+%#*?!(),:=@$'", " ", "/", "\\", '"', "é", "\x00", "\n", "\u202e"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(device_id=st.one_of(st.text(_ID_ALPHABET, max_size=70), st.text(st.sampled_from("ab-"), min_size=60,
                                                                       max_size=70)))
def test_options_generate_and_check_agree_on_every_device_id(tmp_path_factory: pytest.TempPathFactory,
                                                             device_id: str) -> None:
    """The hook table's rule (`check` of a project, the build) and `generate` accept the same ids; an id both
    accept is the certificate's CN as `check --device-id` reads it."""
    from hatch_meadow.config import load_config
    from hatch_meadow.errors import ConfigurationError

    try:
        load_config({"device-id": device_id}, environ={})
        options_ok = True
    except ConfigurationError:
        options_ok = False
    folder = tmp_path_factory.mktemp("ids") / "creds"
    try:
        generate_credentials(folder, device_id=device_id, key_type="ec-p256", key_encryption="none")
        generate_ok = True
    except CredentialError:
        generate_ok = False
    assert options_ok == generate_ok, repr(device_id)
    if generate_ok:
        report = check_credentials(folder, device_id=device_id)
        assert report.certificate is not None
        assert report.certificate.subject_cn == device_id
        assert not [f for f in report.findings if "device" in f.code or "cn" in f.code], report.findings
