"""Trust boundaries (issue #17): what may leave the project, reach the board, cross the network or hit the terminal.

One test per reproducer; each must fail safely: a clear error or finding, exit 1/2/3, nothing sent, no traceback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.deploy import deploy, load_credential_set
from hatch_meadow.device import MeadowDevice
from hatch_meadow.errors import InputError
from hatch_meadow.output_sync import read_output_dir
from hatch_meadow.protocol.codes import RequestType, ResponseType
from hatch_meadow.protocol.exchange import KEPT_MESSAGES, Exchange
from hatch_meadow.protocol.framing import MAX_FRAME_BYTES, FrameDecoder
from hatch_meadow.protocol.packets import Message
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import SimulatedMeadow
from hatch_meadow.textsafe import printable
from hatch_meadow.transport import SerialTransport

Project = Callable[..., Path]
CSPROJ_TEXT = ('<Project Sdk="Meadow.Sdk/1.1.0">\n  <PropertyGroup>\n'
               "    <TargetFramework>netstandard2.1</TargetFramework>\n  </PropertyGroup>\n</Project>\n")
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes, FIFOs, ptys")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)


# 1. credentials travel one way only ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["evil/client_cert.pem", "evil/PRIVATE_KEY.PEM", "evil/Private_Key_Pass.txt"])
def test_deploy_files_may_not_carry_a_credential_name_in_any_case(project: Project, name: str) -> None:
    root = project(f'deploy-files = ["{name}"]\n')
    (root / "evil").mkdir()
    (root / name).write_text("unchecked")
    run = run_cli("check", "--json", cwd=root)
    assert "deploy-file-replaces-credentials" in [f["code"] for f in json.loads(run.stdout)["project"]["findings"]]
    assert run.returncode == 1


@posix_only
def test_output_dir_never_sends_a_credential_file_and_never_follows_a_link_out(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    generate_credentials(creds, device_id="dev-1", key_type="ec-p256")
    out = tmp_path / "out"
    out.mkdir()
    (out / "App.dll").write_bytes(b"app")
    (out / "Client_Cert.PEM").write_text("a stale copy the build made")
    board = SimulatedMeadow()
    with PtyBoard(board) as pty:
        device = MeadowDevice(SerialTransport(pty.port))
        try:
            result = deploy(device, load_credential_set(creds), output_dir=out)
        finally:
            device.close()
    assert "Client_Cert.PEM" not in result.sent
    assert "/meadow0/Client_Cert.PEM" not in board.files
    (out / "leak.txt").symlink_to("/etc/hostname")
    with pytest.raises(InputError, match="outside the output folder"):
        read_output_dir(out)


# 2. confinement ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "value"), [
    ("deploy-files", '["/etc/hostname"]'), ("deploy-files", '["../outside.txt"]'), ("output-dir", '"../../"'),
    ("credentials-dir", '"/tmp/elsewhere"'), ("deploy-files", '["link.txt"]'),
])
def test_deploy_sources_must_stay_inside_the_project(project: Project, option: str, value: str) -> None:
    root = project(f"{option} = {value}\n")
    (root / "link.txt").symlink_to("/etc/hostname")
    run = run_cli("check", cwd=root)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"tool.hatch.build.hooks.meadow.{option}:" in run.stderr
    assert "allow-outside-project" in run.stderr
    assert "Traceback" not in run.stderr


def test_allow_outside_project_is_the_documented_escape(project: Project, tmp_path: Path) -> None:
    keys = tmp_path / "keys-elsewhere"
    generate_credentials(keys, device_id="dev-1", key_type="ec-p256")
    root = project(f'credentials-dir = "{keys}"\nallow-outside-project = true\n')
    run = run_cli("check", "--json", cwd=root)
    assert run.returncode in (0, 1), run.stderr
    assert json.loads(run.stdout)["project"]["csproj"]["credentials_dir"] == str(keys)


# 3. local ports only for credentials ---------------------------------------------------------------------------


def test_a_network_port_never_receives_the_key_without_the_flag(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    received: list[bytes] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(5)
        port = listener.getsockname()[1]

        def accept() -> None:
            try:
                conn, _ = listener.accept()
                with conn:
                    received.append(conn.recv(65536))
            except OSError:
                pass

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        for url in (f"socket://127.0.0.1:{port}", f"rfc2217://127.0.0.1:{port}", f"spy://socket://127.0.0.1:{port}"):
            run = run_cli("deploy", "--dir", "c", "--port", url, cwd=tmp_path)
            assert run.returncode == 2, run.stderr
            assert "cleartext" in run.stderr
            assert "--allow-network-port" in run.stderr
    thread.join(timeout=6)
    assert received == []


def test_hwgrep_must_name_exactly_one_port(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    run = run_cli("deploy", "--dir", "c", "--port", "hwgrep://no-such-port-anywhere", cwd=tmp_path)
    assert run.returncode == 2
    assert "matches 0 ports" in run.stderr


# 4. permissions ---------------------------------------------------------------------------------------------


@posix_only
def test_folders_the_tool_creates_are_private_whatever_the_umask(tmp_path: Path) -> None:
    run = subprocess.run(["bash", "-c", f"umask 000 && {sys.executable} -m hatch_meadow generate --dir new/creds "
                          "--device-id dev-1 --key-type ec-p256"], cwd=tmp_path, capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "new" / "creds").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "new" / "creds" / "private_key.pem").stat().st_mode & 0o777 == 0o600


@posix_only
def test_check_reports_a_folder_others_can_write(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    generate_credentials(folder, device_id="dev-1", key_type="ec-p256")
    folder.chmod(0o777)
    run = run_cli("check", "--dir", "c", "--strict", cwd=tmp_path)
    assert run.returncode == 1
    assert "[secret-folder-writable]" in run.stdout
    assert "chmod go-w" in run.stdout


@posix_only
def test_check_reports_a_readable_key_and_a_second_hard_link(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    generate_credentials(folder, device_id="dev-1", key_type="rsa-2048")
    (folder / "private_key.pem").chmod(0o644)
    (folder / "private_key_pass.txt").chmod(0o644)
    os.link(folder / "private_key.pem", tmp_path / "copy-of-key.pem")
    run = run_cli("check", "--dir", "c", "--strict", "--json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    codes = [(f["code"], f["file"]) for f in json.loads(run.stdout)["findings"]]  # warnings; --strict fails them
    assert ("secret-readable", "private_key.pem") in codes
    assert ("secret-readable", "private_key_pass.txt") in codes
    assert ("secret-hard-link", "private_key.pem") in codes
    human = run_cli("check", "--dir", "c", cwd=tmp_path)
    assert human.returncode == 0  # warnings without --strict
    assert "chmod 600" in human.stdout


# 5. symlinks ------------------------------------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("command", [["check", "--dir", "c"], ["generate", "--dir", "c", "--device-id", "d", "--force"],
                                     ["fix", "--dir", "c"], ["deploy", "--dir", "c", "--port", "sim://loop"],
                                     ["clear", "--dir", "c", "--yes"]])
def test_a_symlink_loop_is_an_answer_not_a_traceback(tmp_path: Path, command: list[str]) -> None:
    generate_credentials(tmp_path / "c", device_id="d", key_type="ec-p256")
    (tmp_path / "c" / "private_key.pem").unlink()
    (tmp_path / "c" / "private_key.pem").symlink_to("private_key.pem")
    run = run_cli(*command, cwd=tmp_path)
    assert run.returncode in (1, 2), run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "private_key.pem" in run.stdout + run.stderr


@posix_only
def test_a_symlinked_key_is_named_by_its_canonical_name_in_the_csproj(project: Project) -> None:
    root = project()
    app = root / "MeadowApp"
    generate_credentials(app, device_id="dev-1", key_type="ec-p256")
    (root / "keys").mkdir()
    (app / "private_key.pem").rename(root / "keys" / "dev-key.pem")
    (app / "private_key.pem").symlink_to("../keys/dev-key.pem")
    run = run_cli("patch-csproj", "MeadowApp/MeadowApp.csproj", cwd=root)
    assert run.returncode == 0, run.stdout + run.stderr
    csproj = (app / "MeadowApp.csproj").read_text()
    assert 'Update="private_key.pem"' in csproj
    assert "dev-key.pem" not in csproj


@posix_only
@pytest.mark.parametrize("command", [["check"], ["generate", "--force"], ["deploy", "--port", "sim://loop"]])
def test_a_credential_link_leading_out_of_the_project_is_a_configuration_error(project: Project,
                                                                                command: list[str]) -> None:
    root = project()
    app = root / "MeadowApp"
    generate_credentials(app, device_id="dev-1", key_type="ec-p256")
    (app / "private_key.pem").unlink()
    (app / "private_key.pem").symlink_to("/etc/hostname")
    before = (app / "MeadowApp.csproj").read_bytes()
    run = run_cli(*command, cwd=root)
    assert run.returncode == 2, run.stdout + run.stderr
    assert ("tool.hatch.build.hooks.meadow.credentials-dir: private_key.pem is a symlink to '/etc/hostname'"
            in run.stderr)
    assert "allow-outside-project" in run.stderr
    assert "Traceback" not in run.stderr
    assert (app / "MeadowApp.csproj").read_bytes() == before
    assert os.readlink(app / "private_key.pem") == "/etc/hostname"


needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")


@needs_root
def test_a_csproj_rewrite_keeps_a_foreign_owner_and_group(tmp_path: Path) -> None:
    csproj = tmp_path / "App.csproj"
    csproj.write_text(CSPROJ_TEXT)
    os.chown(csproj, 4321, 8765)
    csproj.chmod(0o664)
    run = run_cli("patch-csproj", "App.csproj", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    info = csproj.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (4321, 8765, 0o664)
    assert "private_key.pem" in csproj.read_text()


@needs_root
def test_a_user_who_cannot_keep_the_owner_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    import shutil
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="hm-owner-"))
    try:
        shared.chmod(0o777)
        csproj = shared / "App.csproj"
        csproj.write_text(CSPROJ_TEXT)
        csproj.chmod(0o666)  # writable by anyone, but owned by root
        warm = shared / "warm" / "App.csproj"  # as root: every lazy import happens before the privileges go
        warm.parent.mkdir()
        warm.write_text(CSPROJ_TEXT)
        code = ("import os, sys; from pathlib import Path; from hatch_meadow.csproj import ensure_csproj\n"
                "from hatch_meadow.errors import MeadowError\n"
                "ensure_csproj(Path(sys.argv[2]))\n"
                "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
                "try: ensure_csproj(Path(sys.argv[1]))\n"
                "except MeadowError as e: print(e); sys.exit(2)\n")
        run = subprocess.run([sys.executable, "-c", code, str(csproj), str(warm)], capture_output=True, text=True,
                             check=False, cwd=shared, timeout=60)
        assert run.returncode == 2, run.stdout + run.stderr
        assert "belongs to another user (uid 0)" in run.stdout
        assert csproj.read_text() == CSPROJ_TEXT
        assert csproj.stat().st_uid == 0
    finally:
        shutil.rmtree(shared)


@posix_only
@pytest.mark.parametrize("command", [["fix", "--dir", "c"], ["clear", "--dir", "c", "--yes"],
                                     ["generate", "--dir", "c", "--device-id", "dev-1", "--force"]])
def test_a_symlinked_pass_file_is_never_written_through(tmp_path: Path, command: list[str]) -> None:
    folder = tmp_path / "c"
    generate_credentials(folder, device_id="dev-1", key_type="rsa-2048")
    real = tmp_path / "real_pass.txt"
    real.write_bytes((folder / "private_key_pass.txt").read_bytes() + b"\n")  # something fix would clean
    (folder / "private_key_pass.txt").unlink()
    (folder / "private_key_pass.txt").symlink_to(real)
    before = real.read_bytes()
    run = run_cli(*command, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "is a symlink; hatch-meadow never writes credentials through one" in run.stderr
    assert (folder / "private_key_pass.txt").is_symlink()
    assert real.read_bytes() == before


@posix_only
def test_a_planted_state_link_in_the_project_is_never_written_through(project: Project, tmp_path: Path) -> None:
    root = project()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / ".hatch-meadow").symlink_to(elsewhere)
    for command in (["generate", "--device-id", "dev-1"], ["check"]):
        run = run_cli(*command, cwd=root)
        assert run.returncode in (0, 1), run.stdout + run.stderr
    assert list(elsewhere.iterdir()) == []


# 6. sanitised output ----------------------------------------------------------------------------------------


def test_control_characters_are_escaped_for_the_terminal() -> None:
    assert printable("serial \x1b]0;owned\x07 \x1b[2J \x9b") == "serial \\x1b]0;owned\\x07 \\x1b[2J \\x9b"
    assert printable("line\nnext\ttab") == "line\nnext\ttab"


@posix_only
def test_a_hostile_board_cannot_write_escape_sequences_to_the_terminal(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    board = SimulatedMeadow(serial_number="AB\x1b]0;pwned\x07CD", os_version="2.0\x1b[2J")
    with PtyBoard(board) as pty:
        run = run_cli("deploy", "--dir", "c", "--port", pty.port, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout + run.stderr
    assert "\\x1b]0;pwned" in run.stdout + run.stderr


def test_a_certificate_name_cannot_write_escape_sequences_to_the_terminal(tmp_path: Path) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path / "c"
    generate_credentials(folder, device_id="dev-1", key_type="ec-p256", key_encryption="none")
    key = serialization.load_pem_private_key((folder / "private_key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dev\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    (folder / "client_cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    for command in (["thumbprint", "--dir", "c", "--force"], ["check", "--dir", "c"]):
        run = run_cli(*command, cwd=tmp_path)
        assert "Traceback" not in run.stderr
        assert "\x1b" not in run.stdout + run.stderr, command


# 7. names and values that crash or confuse --------------------------------------------------------------------


@pytest.mark.parametrize(("table", "expected"), [
    ('deploy-files = ["bad\\nname.txt"]', "deploy-files"),
    ('deploy-files = ["esc\\u001bname.txt"]', "deploy-files"),
    ('credentials-dir = "\\u0000"', "credentials-dir"),
    ('csproj = "a\\u007fb.csproj"', "csproj"),
])
def test_control_characters_in_path_options_are_refused_before_any_board(project: Project, table: str,
                                                                         expected: str) -> None:
    root = project(table + "\n")
    for command in (["check"], ["deploy", "--port", "sim://loop"]):
        run = run_cli(*command, cwd=root)
        assert run.returncode == 2, run.stdout + run.stderr
        assert f"tool.hatch.build.hooks.meadow.{expected}" in run.stderr
        assert "Traceback" not in run.stderr
        assert "\x1b" not in run.stderr


# 8. bounded files ---------------------------------------------------------------------------------------------


@posix_only
def test_a_huge_pass_file_is_refused_by_size_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    generate_credentials(folder, device_id="dev-1", key_type="rsa-2048")
    with (folder / "private_key_pass.txt").open("r+b") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB by size, nothing on disk
    for command in (["fix", "--dir", "c"], ["check", "--dir", "c"]):
        run = run_cli(*command, cwd=tmp_path)
        assert run.returncode in (1, 2), run.stdout + run.stderr
        assert "far too large for a credential file" in run.stdout + run.stderr
        assert "Traceback" not in run.stderr
    assert (folder / "private_key_pass.txt").stat().st_size == 200 * 1024 * 1024


# 7./8. the board's answers are bounded ----------------------------------------------------------------------


def test_a_stream_without_delimiters_costs_no_memory() -> None:
    decoder = FrameDecoder()
    for _ in range(2000):  # 16 MB of bytes with no 0x00
        decoder.feed(b"\x01" * 8192)
        assert len(decoder._pending) <= MAX_FRAME_BYTES
    assert decoder.dropped >= 1
    assert decoder.feed(b"\x00\x03ab\x00") == [b"ab"]  # and it recovers at the next delimiter


def test_a_stdout_flood_is_counted_not_kept() -> None:
    exchange = Exchange(RequestType.GET_DEVICE_INFORMATION)
    for _ in range(100_000):
        exchange.feed(Message(type=ResponseType.TEXT_MONO_STDOUT, payload=b"x" * 100))
    assert len(exchange.unsolicited) == KEPT_MESSAGES
    assert exchange.unsolicited.total == 100_000


@posix_only
def test_a_listing_with_dot_entries_or_endless_nesting_never_recurses_forever(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    out = tmp_path / "out"
    out.mkdir()
    (out / "App.dll").write_bytes(b"app")
    deep = "/meadow0/" + "/".join(["d"] * 12) + "/f.bin"
    board = SimulatedMeadow(files={deep: b"x"})
    with PtyBoard(board) as pty:
        run = run_cli("deploy", "--dir", "c", "--port", pty.port, "--output-dir", "out", cwd=tmp_path)
    assert run.returncode == 3, run.stderr
    assert "nested deeper than" in run.stderr
    assert "Traceback" not in run.stderr


def _der(tag: int, value: bytes) -> bytes:
    size = len(value)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + size.to_bytes(
        (size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + value


def test_key_derivation_bombs_are_refused_at_once(tmp_path: Path) -> None:
    """#17 item 8: a PFX whose MAC asks for 10^8 rounds, and PBKDF2 beyond the shared limit, fail in milliseconds."""
    import time as clock

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12

    from hatch_meadow.creds import der, pkcs8crypt
    from hatch_meadow.creds.cbc import DecryptError

    key = ec.generate_private_key(ec.SECP256R1())
    pfx = pkcs12.serialize_key_and_certificates(b"x", key, None, None, serialization.BestAvailableEncryption(b"pw"))
    version, auth_safe, mac_data = der.read_single(pfx).children()
    digest, salt = mac_data.children()[:2]
    bomb_mac = _der(0x30, digest.raw + salt.raw + _der(0x02, (100_000_000).to_bytes(4, "big")))
    (tmp_path / "bomb.pfx").write_bytes(_der(0x30, version.raw + auth_safe.raw + bomb_mac))
    started = clock.monotonic()
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", "import-pfx", "bomb.pfx", "--dir", "c"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
                         env={**os.environ, "HATCH_MEADOW_PFX_PASSWORD": "pw"})
    assert run.returncode == 2, run.stderr
    assert "PKCS#12 MAC iteration count (100000000)" in run.stderr
    assert clock.monotonic() - started < 10
    assert not (tmp_path / "c").exists()
    with pytest.raises(DecryptError, match="PBKDF2 iteration count"):
        pkcs8crypt.check_iterations(2**31 - 1, "PBKDF2")
