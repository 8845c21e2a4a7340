"""Issue #16 (adopting hatch-meadow in an existing app): local state never in the project or its artifacts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import hatchling_build
from test_build_hook import PATCHED

from hatch_meadow.creds.generate import generate_credentials

Project = Callable[..., Path]


def test_no_local_state_is_packed_even_without_a_gitignore(project: Project) -> None:
    """A project without a .gitignore (hatchling then excludes nothing): sdist and wheel hold no hatch-meadow state,
    and the project folder gets no state folder, however often it is built."""
    root = project('device-id = "dev-001"\n', gitignore=False, extra_toml="""
        [tool.hatch.build.targets.sdist]
        exclude = ["MeadowApp/*.pem", "MeadowApp/private_key_pass.txt"]
        """)
    for target in ("wheel", "sdist", "wheel"):
        run = hatchling_build(root, target=target)
        assert run.returncode == 0, run.output
    assert not (root / ".hatch-meadow").exists()
    artifacts = sorted((root / "dist").glob("*"))
    assert {a.suffix for a in artifacts} == {".whl", ".gz"}
    for artifact in artifacts:
        if artifact.suffix == ".whl":
            names = zipfile.ZipFile(artifact).namelist()
        else:
            with tarfile.open(artifact) as archive:
                names = archive.getnames()
        assert not [n for n in names if ".hatch-meadow" in n or "deploy-record" in n or "state.json" in n]


# --- secrets out of git (item 4), with real git repositories ------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


def _repo(tmp_path: Path, state: str) -> Path:
    """A repository whose MeadowApp/ holds a credential set: tracked, untracked but not ignored, or ignored."""
    root = tmp_path / "repo"
    generate_credentials(root / "MeadowApp", device_id="dev-1", key_type="ec-p256")
    _git(root, "init", "-q")
    if state == "ignored":
        (root / ".gitignore").write_text("private_key.pem\nprivate_key_pass.txt\n")
    if state == "tracked":
        _git(root, "add", "-A")
        _git(root, "commit", "-qm", "sample with its credentials, as the vendor's sample commits them")
    return root


def _codes(root: Path, *args: str, env: dict[str, str] | None = None) -> list[str]:
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", "check", "--dir", "MeadowApp", "--json", *args],
                         cwd=root, capture_output=True, text=True, check=False, env=env)
    return [f["code"] for f in json.loads(run.stdout)["findings"]]


@needs_git
@pytest.mark.parametrize(("state", "expected"), [("tracked", "secret-tracked-by-git"),
                                                 ("untracked", "secret-not-ignored"), ("ignored", None)])
def test_check_reports_secrets_git_would_publish(tmp_path: Path, state: str, expected: str | None) -> None:
    root = _repo(tmp_path, state)
    codes = [c for c in _codes(root) if (c.startswith("secret-") and "git" in c) or c == "secret-not-ignored"]
    assert codes == ([expected] if expected else [])


@needs_git
def test_untrack_takes_the_secrets_out_of_git_and_keeps_the_files(tmp_path: Path) -> None:
    root = _repo(tmp_path, "tracked")
    key = (root / "MeadowApp" / "private_key.pem").read_bytes()
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", "untrack", "--dir", "MeadowApp", "--json"], cwd=root,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    done = json.loads(run.stdout)
    assert sorted(done["untracked"]) == ["MeadowApp/private_key.pem", "MeadowApp/private_key_pass.txt"]
    assert (root / "MeadowApp" / "private_key.pem").read_bytes() == key  # still on disk
    staged = _git(root, "status", "--porcelain")
    assert "D  MeadowApp/private_key.pem" in staged
    _git(root, "add", "-A")
    assert "private_key" not in _git(root, "status", "--porcelain").replace("D  MeadowApp/private_key", "")
    assert [c for c in _codes(root) if c in ("secret-tracked-by-git", "secret-not-ignored")] == []
    again = subprocess.run([sys.executable, "-m", "hatch_meadow", "untrack", "--dir", "MeadowApp"], cwd=root,
                           capture_output=True, text=True, check=False)
    assert "nothing to do" in again.stdout


@needs_git
def test_a_symlink_into_a_repository_is_checked_from_outside(tmp_path: Path) -> None:
    """git starts from the real path: a credentials folder reached through a link from outside is still checked."""
    root = _repo(tmp_path, "tracked")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "MeadowApp").symlink_to(root / "MeadowApp")
    assert "secret-tracked-by-git" in _codes(outside)


@needs_git
def test_a_repository_named_by_git_dir_is_checked(tmp_path: Path) -> None:
    """No .git anywhere above the folder, but GIT_DIR / GIT_WORK_TREE name the repository: git is asked."""
    root = _repo(tmp_path, "tracked")
    (root / ".git").rename(tmp_path / "elsewhere.git")
    env = {**os.environ, "GIT_DIR": str(tmp_path / "elsewhere.git"), "GIT_WORK_TREE": str(root)}
    assert "secret-tracked-by-git" in _codes(root, env=env)


def test_outside_any_repository_no_git_process_runs(tmp_path: Path) -> None:
    """No .git from the folder up to the root: `check` (a short command) starts no git at all."""
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "git-ran"
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 128\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", "check", "--dir", "c", "--json"], cwd=tmp_path,
                         capture_output=True, text=True, check=False, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    if any((folder / ".git").exists() for folder in tmp_path.parents):
        pytest.skip("the temporary folder is inside a git work tree here")
    assert not marker.exists()


def test_no_git_means_nothing_to_report(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    empty_path = {**os.environ, "PATH": str(tmp_path / "no-bin")}
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", "check", "--dir", "c", "--json"], cwd=tmp_path,
                         capture_output=True, text=True, check=False, env=empty_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert not [f for f in json.loads(run.stdout)["findings"] if "git" in f["code"]]
    untracked = subprocess.run([sys.executable, "-m", "hatch_meadow", "untrack", "--dir", "c"], cwd=tmp_path,
                               capture_output=True, text=True, check=False, env=empty_path)
    assert untracked.returncode == 2
    assert "not inside a git work tree" in untracked.stderr


@needs_git
def test_the_build_warns_about_secrets_git_would_commit(project: Project) -> None:
    root = project('device-id = "dev-001"\n', gitignore=False)
    _git(root, "init", "-q")
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    assert "[secret-not-ignored]" in run.output
    assert "hatch-meadow untrack" in run.output


# --- pass files as people save them (item 2) --------------------------------------------------------------------


@pytest.mark.parametrize(("saved", "what"), [
    (lambda p: b"\xef\xbb\xbf" + p, "UTF-8 byte-order mark"),
    (lambda p: b"\xef\xbb\xbf" + p + b"\r\n", "UTF-8 byte-order mark (added by Windows editors) and ends with a CRLF"),
    (lambda p: "\ufeff".encode("utf-16-le") + p.decode().encode("utf-16-le"), "UTF-16"),
])
def test_a_pass_file_with_a_byte_order_mark_is_named_and_fixed(tmp_path: Path, saved: Callable[[bytes], bytes],
                                                                what: str) -> None:
    from hatch_meadow.creds.validate import check_credentials

    folder = tmp_path / "c"
    generate_credentials(folder, device_id="dev-1", key_type="ec-p256")
    key = (folder / "private_key.pem").read_bytes()
    passphrase = (folder / "private_key_pass.txt").read_bytes()
    (folder / "private_key_pass.txt").write_bytes(saved(passphrase))
    report = check_credentials(folder)
    bom = [f for f in report.findings if f.code == "pass-bom"]
    assert len(bom) == 1
    assert what in bom[0].message
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", "fix", "--dir", "c"], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (folder / "private_key_pass.txt").read_bytes() == passphrase
    assert (folder / "private_key.pem").read_bytes() == key  # nothing else touched
    assert check_credentials(folder).parse == "accept"


# --- one verdict everywhere (item 1) ----------------------------------------------------------------------------


def test_thumbprint_gives_no_registration_line_for_a_set_the_board_cannot_use(tmp_path: Path) -> None:
    """A key and a certificate that do not belong together: check, deploy and thumbprint all say unusable."""
    generate_credentials(tmp_path / "a", device_id="dev-1", key_type="ec-p256")
    generate_credentials(tmp_path / "b", device_id="dev-1", key_type="ec-p256")
    shutil.copy(tmp_path / "b" / "client_cert.pem", tmp_path / "a" / "client_cert.pem")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], cwd=tmp_path, capture_output=True,
                              text=True, check=False)

    run = cli("thumbprint", "--dir", "a")
    assert run.returncode == 1
    assert "az iot hub" not in run.stdout
    assert "cert-key-mismatch" in run.stderr
    assert "az iot hub" in cli("thumbprint", "--dir", "a", "--force").stdout
    payload = json.loads(cli("thumbprint", "--dir", "a", "--json").stdout)
    assert (payload["usable"], payload["az"]) == (False, None)
    check = json.loads(cli("check", "--dir", "a", "--json").stdout)
    assert check["usable"] is False
    assert cli("deploy", "--dir", "a", "--port", "sim://verdict").returncode == 1


# --- a new certificate for the key one already has (item 3) -----------------------------------------------------


def test_generate_keep_key_reissues_only_the_certificate(tmp_path: Path) -> None:
    from cryptography import x509

    generate_credentials(tmp_path / "c", device_id="old-name", key_type="ec-p256")
    key = (tmp_path / "c" / "private_key.pem").read_bytes()
    passphrase = (tmp_path / "c" / "private_key_pass.txt").read_bytes()
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", "generate", "--dir", "c", "--device-id", "new-name",
                          "--keep-key", "--days", "30", "--json"], cwd=tmp_path, capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stderr
    made = json.loads(run.stdout)
    assert (tmp_path / "c" / "private_key.pem").read_bytes() == key
    assert (tmp_path / "c" / "private_key_pass.txt").read_bytes() == passphrase
    cert = x509.load_pem_x509_certificate((tmp_path / "c" / "client_cert.pem").read_bytes())
    assert cert.subject.rfc4514_string() == "CN=new-name"
    assert made["thumbprints"]["sha256"] in made["az"]
    from hatch_meadow.creds.validate import check_credentials

    report = check_credentials(tmp_path / "c", device_id="new-name")
    assert (report.parse, report.pair, report.usable_reason) == ("accept", "match", None)


def test_generate_keep_key_refuses_a_key_it_cannot_reuse(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    (tmp_path / "c" / "private_key_pass.txt").write_bytes(b"wrong-passphrase")
    before = (tmp_path / "c" / "client_cert.pem").read_bytes()
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", "generate", "--dir", "c", "--device-id", "dev-1",
                          "--keep-key"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert "cannot be reused" in run.stderr
    assert (tmp_path / "c" / "client_cert.pem").read_bytes() == before


# --- wrong kinds of path (item 7) -------------------------------------------------------------------------------


def test_wrong_kinds_of_path_get_the_tools_own_message(project: Project) -> None:
    root = project()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], cwd=root, capture_output=True,
                              text=True, check=False)

    for command in (["deploy", "--port", "sim://x"], ["thumbprint"], ["fix"], ["clear", "--yes"], ["generate"]):
        run = cli(*command, "--dir", "MeadowApp/MeadowApp.csproj")
        assert run.returncode == 2, command
        assert "is a file; --dir takes the folder" in run.stderr
        assert "Directory" not in run.stderr
    patched = cli("patch-csproj", "MeadowApp", "--dry-run")
    assert patched.returncode == 1, patched.stderr  # a change is pending: the folder stood for its one csproj
    assert "MeadowApp.csproj" in patched.stdout
    (root / "MeadowApp" / "Other.csproj").write_text("<Project />")
    several = cli("patch-csproj", "MeadowApp")
    assert several.returncode == 2
    assert "2 .csproj files" in several.stderr


# --- no board writes outside a real wheel build (item 5) --------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="pty-based simulated board")
def test_pip_dry_run_with_deploy_enabled_leaves_the_board_untouched(project: Project) -> None:
    """`HATCH_MEADOW_DEPLOY=1 pip install --dry-run .` prepares metadata only: not a byte reaches the board. (pip
    builds the whole wheel to read its metadata, so the hook never deploys from a pip build and says so.) The same
    project's real wheel build does deploy (so the board and the port are fine)."""
    from hatch_meadow.testing.pty_board import PtyBoard
    from hatch_meadow.testing.simulator import SimulatedMeadow

    root = project('device-id = "dev-001"\n')
    board = SimulatedMeadow(reboot_s=0.1)
    with PtyBoard(board) as pty:
        env = {**os.environ, "HATCH_MEADOW_DEPLOY": "1", "HATCH_MEADOW_PORT": pty.port, "PIP_NO_INDEX": "1"}
        dry = subprocess.run([sys.executable, "-m", "pip", "install", "-v", "--dry-run", "--no-build-isolation",
                              "--no-deps", "."], cwd=root, env=env, capture_output=True, text=True, timeout=300,
                             check=False)
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert "Would install" in dry.stdout
        assert "not deploying from a pip build" in dry.stdout + dry.stderr
        assert board.bytes_received == 0
        assert board.esp_store == {}
        real = hatchling_build(root, env={"HATCH_MEADOW_DEPLOY": "1", "HATCH_MEADOW_PORT": pty.port})
        assert real.returncode == 0, real.output
    assert set(board.esp_store) == {"client_cert.pem", "private_key.pem", "private_key_pass.txt"}


# --- partial sets (item 7) --------------------------------------------------------------------------------------


def test_a_partial_set_is_described_with_the_one_command_that_resolves_it(tmp_path: Path) -> None:
    """The two PEMs deleted and an empty pass file kept: check names the partial set and `generate --force`, which
    then works; a key without its certificate points at `generate --keep-key`."""
    folder = tmp_path / "c"
    generate_credentials(folder, device_id="dev-1", key_type="ec-p256")
    (folder / "client_cert.pem").unlink()
    key_only = json.loads(subprocess.run([sys.executable, "-m", "hatch_meadow", "check", "--dir", "c", "--json"],
                                         cwd=tmp_path, capture_output=True, text=True, check=False).stdout)
    assert "--keep-key" in next(f["fix"] for f in key_only["findings"] if f["code"] == "cert-missing")
    (folder / "private_key.pem").unlink()
    (folder / "private_key_pass.txt").write_bytes(b"")
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", "check", "--dir", "c", "--json"], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    partial = [f for f in json.loads(run.stdout)["findings"] if f["code"] == "credentials-partial"]
    assert len(partial) == 1
    assert "only an empty private_key_pass.txt" in partial[0]["message"]
    fix = partial[0]["fix"]
    command = fix[fix.index("`") + 1:fix.rindex("`")].split()
    done = subprocess.run([sys.executable, "-m", "hatch_meadow", *command[1:], "--dir", "c", "--device-id", "dev-1"],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# --- wording (item 8) -------------------------------------------------------------------------------------------


def test_findings_name_a_file_once_and_the_closing_hint_fits(tmp_path: Path) -> None:
    from hatch_meadow.findings import Finding, closing_hint, located

    newline = Finding("pass-trailing-newline", "error", "private_key_pass.txt",
                      "private_key_pass.txt ends with a LF; Meadow uses the file's exact bytes")
    assert located(newline) == "private_key_pass.txt ends with a LF; Meadow uses the file's exact bytes"
    assert "hatch-meadow fix" in closing_hint([newline])
    mismatch = Finding("cert-key-mismatch", "error", "client_cert.pem", "the first certificate does not belong")
    assert located(mismatch) == "client_cert.pem: the first certificate does not belong"
    assert "hatch-meadow fix" not in closing_hint([newline, mismatch])


# --- the whole adoption, replayed on a fixture shaped like the vendor's TLS sample ----------------------------------

#: The sample's csproj: it already copies the three files, in an ItemGroup of its own (no hatch-meadow label).
SAMPLE_CSPROJ = PATCHED.replace(' Label="hatch-meadow"', "")
PLACEHOLDER = b"-----BEGIN CERTIFICATE-----\nPut your device certificate here (see the sample's README).\n" \
              b"-----END CERTIFICATE-----\n"


@needs_git
@pytest.mark.skipif(sys.platform == "win32", reason="pty-based simulated board")
def test_adoption_replay_on_a_sample_shaped_project(project: Project) -> None:
    """The vendor-sample path: a csproj that already copies the three files, placeholder credentials committed to
    git; add the hook, build, generate, untrack, deploy from the root and from the app folder."""
    from hatch_meadow.testing.pty_board import PtyBoard
    from hatch_meadow.testing.simulator import SimulatedMeadow

    root = project('device-id = "sample-001"\ncredentials = "validate"\n', csproj=SAMPLE_CSPROJ, gitignore=False)
    app = root / "MeadowApp"
    (app / "client_cert.pem").write_bytes(PLACEHOLDER)
    (app / "private_key.pem").write_bytes(PLACEHOLDER.replace(b"CERTIFICATE", b"RSA PRIVATE KEY"))
    (app / "private_key_pass.txt").write_bytes(b"your passphrase here\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "the sample as published")

    def cli(*args: str, cwd: Path = root) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], cwd=cwd, capture_output=True,
                              text=True, check=False)

    # 1. The placeholders are named as what they are, and git's part is reported.
    check = json.loads(cli("check", "--json").stdout)
    codes = {f["code"] for f in check["findings"]}
    assert "secret-tracked-by-git" in codes
    assert check["usable"] is False
    build = hatchling_build(root)
    assert build.returncode != 0
    assert "would not work on the board" in build.output
    assert "Traceback" not in build.output
    assert (app / "MeadowApp.csproj").read_text() == SAMPLE_CSPROJ  # nothing half-done

    # 2. Real credentials, then the secrets out of git.
    made = cli("generate", "--force", "--key-type", "ec-p256")
    assert made.returncode == 0, made.stderr
    assert "az iot hub device-identity create --hub-name YOUR-IOT-HUB --device-id sample-001" in made.stdout
    assert json.loads(cli("check", "--json").stdout)["usable"] is True
    untracked = cli("untrack")
    assert untracked.returncode == 0, untracked.stderr
    _git(root, "commit", "-qam", "stop tracking the device secrets")
    assert "private_key" not in _git(root, "ls-files")
    built = hatchling_build(root)
    assert built.returncode == 0, built.output
    assert "[secret-" not in built.output
    assert (app / "MeadowApp.csproj").read_text() == SAMPLE_CSPROJ  # its items already copy the files

    # 3. Deploy from the root, then from the app folder: the same set is not sent twice.
    board = SimulatedMeadow(reboot_s=0.1)
    with PtyBoard(board) as pty:
        first = cli("deploy", "--port", pty.port, "--json")
        again = cli("deploy", "--port", pty.port, "--project", "..", "--json", cwd=app)
        from_app = cli("deploy", "--port", pty.port, "--json", cwd=app)  # the app folder's own three files
    assert first.returncode == 0, first.stderr
    assert json.loads(from_app.stdout)["credentials"] == "skipped"
    assert json.loads(first.stdout)["credentials"] == "sent"
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["credentials"] == "skipped"
    assert not (app / ".hatch-meadow").exists()
    assert not (root / ".hatch-meadow").exists()
