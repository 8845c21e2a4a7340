"""`hatch-meadow scan` (issue #12 item 1): key material in wheels, sdists, .mpak packages and build-output folders,
found by content and named without the secret; nothing in clean ones; hostile inputs refused with a reason."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import hatchling_build

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.scan import MAX_NESTING, scan_paths

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="symlinks and FIFOs")


def run_scan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", "scan", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, check=False)


@pytest.fixture(name="creds")
def _creds(tmp_path: Path) -> Path:
    folder = tmp_path / "creds"
    generate_credentials(folder, device_id="dev-1", key_type="ec-p256")
    return folder


def _plain_project(root: Path, planted: bytes | None) -> Path:
    """A hatchling project without the meadow hook (so nothing stops the key from being packed)."""
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "pkg"
        version = "1.0"

        [tool.hatch.build.targets.wheel]
        packages = ["pkg"]
        """))
    (root / "pkg" / "__init__.py").write_text("")
    if planted is not None:
        (root / "pkg" / "settings.bin").write_bytes(planted)
    return root


@pytest.mark.parametrize("planted", [True, False], ids=["planted", "clean"])
def test_wheel_and_sdist_built_by_hatchling(tmp_path: Path, creds: Path, planted: bool) -> None:
    key = (creds / "private_key.pem").read_bytes()
    root = _plain_project(tmp_path / "p", key if planted else None)
    for target in ("wheel", "sdist"):
        assert hatchling_build(root, target=target).returncode == 0
    artifacts = sorted((root / "dist").iterdir())
    assert len(artifacts) == 2
    run = run_scan(*map(str, artifacts), "--json", cwd=tmp_path)
    report = json.loads(run.stdout)
    if planted:
        assert run.returncode == 1
        assert sorted(h["path"].split("!", 1)[1] for h in report["hits"]) == ["pkg-1.0/pkg/settings.bin",
                                                                              "pkg/settings.bin"]
        assert {h["what"] for h in report["hits"]} == {"a PEM EC PRIVATE KEY block"}
    else:
        assert run.returncode == 0, run.stdout
        assert report["ok"] is True
        assert report["hits"] == []
    assert key.decode() not in run.stdout


def _mpak(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_an_ota_package_and_a_build_output_folder(tmp_path: Path, creds: Path) -> None:
    out = tmp_path / "bin" / "Release" / "netstandard2.1"
    out.mkdir(parents=True)
    (out / "App.dll").write_bytes(b"MZ" + bytes(1000))
    clean = _mpak(tmp_path / "clean.mpak", {"app/App.dll": b"MZ" + bytes(1000)})
    assert run_scan(str(out), str(clean), cwd=tmp_path).returncode == 0
    (out / "private_key.pem").write_bytes((creds / "private_key.pem").read_bytes())
    dirty = _mpak(tmp_path / "dirty.mpak", {"app/App.dll": b"MZ", "app/private_key.pem": b"renamed below",
                                            "app/k.dat": (creds / "private_key.pem").read_bytes()})
    run = run_scan(str(out), str(dirty), cwd=tmp_path)
    assert run.returncode == 1
    assert f"{out / 'private_key.pem'}: a PEM EC PRIVATE KEY block" in run.stdout
    assert "dirty.mpak!app/k.dat: a PEM EC PRIVATE KEY block" in run.stdout
    assert "app/private_key.pem" not in run.stdout  # a name alone is not key material (only pass files are)


def test_the_exact_bytes_of_a_set_under_any_name(tmp_path: Path, creds: Path) -> None:
    passphrase = (creds / "private_key_pass.txt").read_bytes()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "config.json").write_bytes(b'{"tls": "' + passphrase + b'"}')
    assert run_scan("out", cwd=tmp_path).returncode == 0  # a passphrase alone looks like any text…
    run = run_scan("out", "--dir", str(creds), cwd=tmp_path)  # …until scan knows the set
    assert run.returncode == 1
    assert "config.json: the bytes of this project's private key or passphrase" in run.stdout
    assert passphrase.decode() not in run.stdout + run.stderr


def test_nested_archives_one_level_deep(tmp_path: Path, creds: Path) -> None:
    key = (creds / "private_key.pem").read_bytes()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("k.txt", key)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("sdist-1.0/vendor/inner.whl")
        info.size = len(inner.getvalue())
        archive.addfile(info, io.BytesIO(inner.getvalue()))
    (tmp_path / "sdist-1.0.tar.gz").write_bytes(buffer.getvalue())
    report = scan_paths([tmp_path / "sdist-1.0.tar.gz"])
    assert [h.where for h in report.hits] == [f"{tmp_path / 'sdist-1.0.tar.gz'}!sdist-1.0/vendor/inner.whl!k.txt"]
    assert MAX_NESTING == 1


def test_a_key_deep_inside_a_large_file(tmp_path: Path, creds: Path) -> None:
    with (tmp_path / "big.bin").open("wb") as handle:
        handle.write(bytes(20 << 20))
        handle.write((creds / "private_key.pem").read_bytes())
    assert [h.what for h in scan_paths([tmp_path / "big.bin"]).hits] == ["a PEM EC PRIVATE KEY block"]


def test_a_corrupt_zip_is_named_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.whl").write_bytes(b"PK\x03\x04" + os.urandom(300))
    run = run_scan("broken.whl", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "not scanned: broken.whl: archive refused: cannot be read as an archive" in run.stdout
    assert "Traceback" not in run.stderr


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive, \
            archive.open("zeros.bin", "w", force_zip64=True) as member:
        chunk = bytes(1 << 20)
        for _ in range(300):
            member.write(chunk)
    assert (tmp_path / "bomb.zip").stat().st_size < 1 << 20
    run = run_scan("bomb.zip", "--json", cwd=tmp_path)
    assert run.returncode == 2
    [(path, reason)] = [(n["path"], n["reason"]) for n in json.loads(run.stdout)["not_scanned"]]
    assert path == "bomb.zip"
    assert "archive bomb" in reason


def test_a_tar_of_endless_empty_folders_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hatch_meadow import scan

    monkeypatch.setattr(scan, "MAX_MEMBERS", 500)  # the real limit is 100,000: same code path, faster
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for index in range(600):
            info = tarfile.TarInfo(f"d{index}")
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
    (tmp_path / "dirs.tar.gz").write_bytes(buffer.getvalue())
    report = scan.scan_paths([tmp_path / "dirs.tar.gz"])
    assert [why for _, why in report.not_scanned] == ["archive refused: more than 500 entries (an archive bomb?)"]


@posix_only
def test_links_out_of_the_tree_loops_and_fifos_are_not_followed(tmp_path: Path, creds: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "App.dll").write_bytes(b"MZ")
    (out / "leak.pem").symlink_to(creds / "private_key.pem")
    (out / "loop").symlink_to("loop")
    (out / "dir-out").symlink_to(creds)
    os.mkfifo(out / "pipe")
    run = run_scan("out", cwd=tmp_path)
    assert run.returncode == 2, run.stdout
    assert "not scanned: out/leak.pem: a symlink leading out of out (not followed)" in run.stdout
    assert "not scanned: out/loop: a symlink that loops or leads nowhere" in run.stdout
    assert "not scanned: out/dir-out: a symlinked folder (not followed)" in run.stdout
    assert "not scanned: out/pipe: not a regular file" in run.stdout
    assert "PRIVATE KEY" not in run.stdout


def test_a_missing_path_is_bad_input(tmp_path: Path) -> None:
    run = run_scan("nothere.whl", cwd=tmp_path)
    assert run.returncode == 2
    assert "no such file or folder: nothere.whl" in run.stderr


def test_the_build_hook_uses_the_same_scanner(tmp_path: Path) -> None:
    from hatch_meadow import artifacts, scan

    assert "scan_archive_file" in artifacts.ensure_artifact_clean.__code__.co_names
    assert scan.scan_archive_file(tmp_path / "none.whl").not_scanned  # a missing artifact is not "clean"


# the release-config guard (issue #12 item 2) -------------------------------------------------------------------


@pytest.mark.parametrize("condition", [None, "'$(Configuration)' == 'Debug'"])
def test_check_strict_fails_on_credentials_copied_for_every_configuration(project: Callable[..., Path],
                                                                          condition: str | None) -> None:
    root = project(f'device-id = "dev-1"\ncsproj-condition = "{condition}"\n' if condition else 'device-id = "dev-1"\n')
    generate_credentials(root / "MeadowApp", device_id="dev-1", key_type="ec-p256")
    strict = subprocess.run([sys.executable, "-m", "hatch_meadow", "check", "--strict", "--json"], cwd=root,
                            capture_output=True, text=True, timeout=120, check=False)
    codes = [f["code"] for f in json.loads(strict.stdout)["findings"]]
    if condition is None:
        assert strict.returncode == 1
        assert "credentials-in-release-output" in codes
        human = subprocess.run([sys.executable, "-m", "hatch_meadow", "check"], cwd=root, capture_output=True,
                               text=True, timeout=120, check=False)
        assert human.returncode == 0  # a warning without --strict
        assert "csproj-condition = \"'$(Configuration)' == 'Debug'\"" in human.stdout
    else:
        assert strict.returncode == 0, strict.stdout
        assert "credentials-in-release-output" not in codes


def test_check_expires_within(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256", days=10)
    soon = run_scan_cli("check", "--dir", "c", "--expires-within", "30", "--json", cwd=tmp_path)
    assert soon.returncode == 1
    assert "cert-expires-within" in [f["code"] for f in json.loads(soon.stdout)["findings"]]
    assert run_scan_cli("check", "--dir", "c", "--expires-within", "5", cwd=tmp_path).returncode == 0
    assert run_scan_cli("check", "--dir", "c", "--expires-within", "0", cwd=tmp_path).returncode == 2


def run_scan_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)
