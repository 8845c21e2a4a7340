"""Real hatchling builds of temporary projects with the meadow hook from this checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CSPROJ, hatchling_build, machine_state

from hatch_meadow.state import state_file

MANAGED = """\
  <ItemGroup Label="hatch-meadow">
    <None Update="client_cert.pem">
      <CopyToOutputDirectory>Always</CopyToOutputDirectory>
    </None>
    <None Update="private_key.pem">
      <CopyToOutputDirectory>Always</CopyToOutputDirectory>
    </None>
    <None Update="private_key_pass.txt">
      <CopyToOutputDirectory>Always</CopyToOutputDirectory>
    </None>
  </ItemGroup>
"""
PATCHED = CSPROJ.replace("</Project>\n", MANAGED + "</Project>\n")

Project = Callable[..., Path]


def csproj_of(root: Path) -> Path:
    return root / "MeadowApp" / "MeadowApp.csproj"


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mtime under root (dist/ excluded)."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*")) if p.is_file() and "dist" not in p.parts
    }


def test_build_patches_csproj_once_and_second_build_is_byte_identical(project: Project) -> None:
    """The first wheel build adds one managed item per file; the second changes nothing, not even mtime."""
    root = project()
    first = hatchling_build(root)
    assert first.returncode == 0, first.output
    assert csproj_of(root).read_text() == PATCHED
    assert "hatch-meadow: MeadowApp/MeadowApp.csproj: client_cert.pem: added" in first.output
    before = csproj_of(root).stat().st_mtime_ns
    second = hatchling_build(root)
    assert second.returncode == 0, second.output
    assert csproj_of(root).read_text() == PATCHED
    assert csproj_of(root).stat().st_mtime_ns == before
    assert "credential items up to date (Always)" in second.output
    assert [a.name for a in second.artifacts] == ["demo_app-0.1.0-py2.py3-none-any.whl"]


def test_build_finds_the_only_csproj_two_levels_down(project: Project) -> None:
    """Without `csproj`, the single .csproj within two folder levels is used."""
    root = project(csproj_path="src/app/Blinky.csproj")
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    assert (root / "src/app/Blinky.csproj").read_text() == PATCHED


def test_build_sdist_and_wheel_in_one_run_is_idempotent(project: Project) -> None:
    """`hatchling build` (sdist then wheel) patches once and packs no credential."""
    root = project()
    run = hatchling_build(root)  # the wheel build generates the credentials
    assert run.returncode == 0, run.output
    assert (root / "MeadowApp" / "private_key.pem").is_file()
    run = hatchling_build(root, target="sdist")
    assert run.returncode == 0, run.output
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    assert csproj_of(root).read_text() == PATCHED
    sdist = next(a for a in run.artifacts if a.name.endswith(".tar.gz"))
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert not [n for n in names if n.endswith((".pem", "_pass.txt"))], names
    assert "demo_app-0.1.0/MeadowApp/MeadowApp.csproj" in names


def test_build_sdist_refuses_credentials_that_would_be_packed(project: Project) -> None:
    """Without a .gitignore entry the sdist step stops and names the files."""
    root = project(gitignore=False)
    (root / "MeadowApp" / "private_key.pem").write_text("secret")
    run = hatchling_build(root, target="sdist")
    assert run.returncode != 0
    assert "the sdist would contain private-key material: MeadowApp/private_key.pem" in run.output
    assert "Traceback" not in run.output
    assert "secret" not in run.output
    assert run.artifacts == []


def test_build_wheel_with_forced_private_key_is_deleted(project: Project) -> None:
    """A wheel that force-includes a private key is deleted and the build fails."""
    root = project('credentials = "off"\n', extra_toml="""
        [tool.hatch.build.targets.wheel.force-include]
        "MeadowApp/private_key.pem" = "keys/private_key.pem"
        """)
    (root / "MeadowApp" / "private_key.pem").write_text("secret")
    run = hatchling_build(root)
    assert run.returncode != 0
    assert "contained private-key material: keys/private_key.pem (a credential file); hatch-meadow deleted the " \
        "artifact" in " ".join(run.output.split())
    assert run.artifacts == []


@pytest.mark.parametrize(
    ("hook_table", "expected"),
    [
        ('key-type = "rsa-1024"\ndeploy = "yes"\nbogus = 1\n', [
            "tool.hatch.build.hooks.meadow.bogus: unknown option",
            "tool.hatch.build.hooks.meadow.deploy: must be true or false, not a string",
            "tool.hatch.build.hooks.meadow.key-type: must be one of rsa-2048",
        ]),
    ],
)
def test_build_config_errors_stop_the_build_listing_all(project: Project, hook_table: str,
                                                         expected: list[str]) -> None:
    """Invalid options abort with every message, no traceback, and the csproj untouched."""
    root = project(hook_table)
    before = snapshot(root)
    run = hatchling_build(root)
    assert run.returncode == 2  # the one exit-code model: bad configuration
    for message in expected:
        assert message in run.output
    assert "Traceback" not in run.output
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("two", "found 2 .csproj files in"),
        ("none", "no .csproj found in"),
        ("dir", "is a directory, not a .csproj file"),
        ("malformed", "not well-formed XML at line 3, column"),
        ("readonly", "is read-only, so hatch-meadow cannot add the credential items"),
        ("remove", 'a Remove item takes a credential file out of the build: <None Remove="private_key.pem"> at line 4'),
        ("missing", "tool.hatch.build.hooks.meadow.csproj: Nope/Nope.csproj does not exist"),
    ],
)
def test_build_bad_project_file_stops_with_message_and_changes_nothing(project: Project, setup: str,
                                                                       message: str) -> None:
    """Each bad csproj situation aborts the build with its message and leaves every file as it was."""
    table = 'csproj = "Nope/Nope.csproj"\n' if setup == "missing" else ""
    if setup == "dir":
        table = 'csproj = "MeadowApp/Dir.csproj"\n'
    root = project(table)
    csproj = csproj_of(root)
    if setup == "two":
        (root / "Other").mkdir()
        (root / "Other" / "Other.csproj").write_text(CSPROJ)
    elif setup == "none":
        csproj.unlink()
    elif setup == "dir":
        (root / "MeadowApp" / "Dir.csproj").mkdir()
    elif setup == "malformed":
        csproj.write_text("<Project>\n  <ItemGroup>\n  </ItemGrop>\n</Project>\n")
    elif setup == "readonly":
        csproj.chmod(0o444)
    elif setup == "remove":
        csproj.write_text('<Project Sdk="Meadow.Sdk/1.1.0">\n  <ItemGroup>\n'
                          '    <None Include="x.txt" />\n    <None Remove="private_key.pem" />\n'
                          '  </ItemGroup>\n</Project>\n')
    before = snapshot(root)
    run = hatchling_build(root)
    assert run.returncode == 2
    assert message in run.output, run.output
    assert "Traceback" not in run.output
    assert snapshot(root) == before


def test_build_skip_env_leaves_project_alone(project: Project) -> None:
    """HATCH_MEADOW_SKIP=1 skips the hook, even before validating options."""
    root = project('bogus = 1\n')
    run = hatchling_build(root, env={"HATCH_MEADOW_SKIP": "1"})
    assert run.returncode == 0, run.output
    assert "hatch-meadow: skipped (HATCH_MEADOW_SKIP is set)" in run.output
    assert csproj_of(root).read_text() == CSPROJ


def test_build_target_table_replaces_global_table(project: Project) -> None:
    """With a wheel target table, the wheel build sees only it (hatchling does not merge)."""
    root = project('copy-mode = "PreserveNewest"\nbogus-global-only = 1\n', extra_toml="""
        [tool.hatch.build.targets.wheel.hooks.meadow]
        copy-mode = "Always"
        csproj-condition = "'$(Configuration)' == 'Debug'"
        """)
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    text = csproj_of(root).read_text()
    assert '<ItemGroup Label="hatch-meadow" Condition="\'$(Configuration)\' == \'Debug\'">' in text
    assert text.count("<CopyToOutputDirectory>Always</CopyToOutputDirectory>") == 4


def test_build_target_table_errors_name_the_target_table(project: Project) -> None:
    """Messages for a target table carry that table's path."""
    root = project(extra_toml="""
        [tool.hatch.build.targets.wheel.hooks.meadow]
        copy-mode = "Sometimes"
        """)
    run = hatchling_build(root)
    assert run.returncode != 0
    assert "tool.hatch.build.targets.wheel.hooks.meadow.copy-mode: must be one of Always, PreserveNewest" \
        in run.output


def test_build_clean_removes_only_the_managed_group(project: Project) -> None:
    """`hatchling build --clean-only` (what `hatch clean` does) restores the original csproj."""
    root = project()
    assert hatchling_build(root).returncode == 0
    assert csproj_of(root).read_text() == PATCHED
    run = hatchling_build(root, "--clean-only")
    assert run.returncode == 0, run.output
    assert csproj_of(root).read_text() == CSPROJ


def test_build_patch_csproj_false_leaves_csproj(project: Project) -> None:
    """patch-csproj = false means the hook never edits the csproj."""
    root = project("patch-csproj = false\n")
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    assert csproj_of(root).read_text() == CSPROJ


def test_build_credentials_dir_outside_project_uses_include_and_link(project: Project) -> None:
    """Credential files outside the project folder are included with a Link to the output root."""
    root = project('credentials-dir = "secrets"\n')
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    text = csproj_of(root).read_text()
    assert '<None Include="..\\secrets\\client_cert.pem" Link="client_cert.pem">' in text


def test_editable_install_runs_hook_without_deploy(project: Project, tmp_path: Path) -> None:
    """`pip install -e` runs the hook (csproj patched) and says it does not deploy."""
    root = project("deploy = true\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HATCH_") or k == "HATCH_MEADOW_STATE_DIR"}
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-v", "--no-build-isolation", "--no-deps", "--no-index",
         "--prefix", str(tmp_path / "prefix"), "-e", str(root)],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "hatch-meadow: not deploying from an editable install" in output
    assert csproj_of(root).read_text() == PATCHED


def test_wheel_never_contains_credentials(project: Project) -> None:
    """The built wheel holds no credential file even when they exist in the project."""
    root = project()
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    assert (root / "MeadowApp" / "private_key.pem").is_file()
    with zipfile.ZipFile(run.artifacts[0]) as wheel:
        assert not [n for n in wheel.namelist() if n.endswith((".pem", "pass.txt"))]


def test_rebuild_uses_state_and_rechecks_after_edit(project: Project) -> None:
    """A rebuild trusts the recorded hash; editing the csproj makes the next build check and fix it again."""
    root = project()
    assert hatchling_build(root).returncode == 0
    state = json.loads(state_file(root).read_text())
    assert set(state) == {"csproj", "credentials"}
    assert state["csproj"]["path"] == "MeadowApp/MeadowApp.csproj"
    assert not (root / ".hatch-meadow").exists()  # nothing of it in the project (#16): never packed, never committed
    csproj_of(root).write_text(CSPROJ)  # the user (or a merge) dropped our ItemGroup
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    assert csproj_of(root).read_text() == PATCHED
    assert "client_cert.pem: added" in run.output


def test_corrupt_state_only_costs_a_full_check(project: Project) -> None:
    """Unreadable state is ignored and rewritten."""
    root = project()
    state_file(root).parent.mkdir(parents=True, exist_ok=True)
    state_file(root).write_text("{not json")
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    assert csproj_of(root).read_text() == PATCHED
    assert "csproj" in json.loads(state_file(root).read_text())


def test_changed_options_are_applied_despite_state(project: Project) -> None:
    """The state hash covers the options: switching copy-mode re-patches."""
    root = project()
    assert hatchling_build(root).returncode == 0
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'copy-mode = "PreserveNewest"\n')
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    assert csproj_of(root).read_text() == PATCHED.replace(">Always<", ">PreserveNewest<").replace(
        "meadow.config.yaml\">\n      <CopyToOutputDirectory>PreserveNewest", "meadow.config.yaml\">\n      "
        "<CopyToOutputDirectory>Always")


def test_build_generates_credentials_with_passphrase_from_env(project: Project) -> None:
    """credentials = generate: the first build makes valid files with the env passphrase and never prints it."""
    root = project('device-id = "dev-001"\n')
    run = hatchling_build(root, env={"HATCH_MEADOW_KEY_PASSPHRASE": "Pipeline-Secret-42"})
    assert run.returncode == 0, run.output
    folder = root / "MeadowApp"
    assert (folder / "private_key_pass.txt").read_bytes() == b"Pipeline-Secret-42"
    assert b"DEK-Info: AES-256-CBC," in (folder / "private_key.pem").read_bytes()
    assert "generated rsa-2048 credentials for dev-001" in run.output
    assert "--am x509_thumbprint --ptp " in run.output
    assert "Pipeline-Secret-42" not in run.output
    second = hatchling_build(root)
    assert second.returncode == 0, second.output
    assert "credentials unchanged and valid" in second.output


def test_build_validate_mode_stops_on_missing_credentials(project: Project) -> None:
    """credentials = validate never generates: missing files stop the build, csproj untouched."""
    root = project('credentials = "validate"\n')
    run = hatchling_build(root)
    assert run.returncode != 0
    assert "[credentials-missing]" in run.output
    assert "Traceback" not in run.output
    assert csproj_of(root).read_text() == CSPROJ
    assert not (root / "MeadowApp" / "private_key.pem").exists()


def test_build_stops_on_openssl3_default_key(project: Project) -> None:
    """An OpenSSL 3 `genrsa -aes256` key is the board's 'Failed to parse private key': the build says so."""
    root = project()
    folder = root / "MeadowApp"
    subprocess.run(["openssl", "genrsa", "-aes256", "-passout", "pass:P", "-out", "private_key.pem", "2048"],
                   cwd=folder, check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-new", "-key", "private_key.pem", "-passin", "pass:P", "-subj",
                    "/CN=demo-app", "-days", "90", "-out", "client_cert.pem"], cwd=folder, check=True,
                   capture_output=True)
    (folder / "private_key_pass.txt").write_bytes(b"P")
    run = hatchling_build(root)
    assert run.returncode != 0
    assert "[key-pbes2-aes]" in run.output
    assert "PKCS5_FEATURE_UNAVAILABLE (-0x2E80 = -11904)" in run.output
    assert "hatch-meadow fix" in run.output
    assert "Traceback" not in run.output


def test_build_strict_turns_warnings_into_errors(project: Project) -> None:
    """A CN that differs from device-id warns; HATCH_MEADOW_STRICT=1 makes it stop the build."""
    root = project('device-id = "other-id"\n')
    from hatch_meadow.creds.generate import generate_credentials

    generate_credentials(root / "MeadowApp", device_id="dev-001")
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    assert "[cert-cn-mismatch]" in run.output
    strict = hatchling_build(root, env={"HATCH_MEADOW_STRICT": "1"})
    assert strict.returncode != 0
    assert "[cert-cn-mismatch]" in strict.output


def test_build_deploys_to_simulated_board_when_asked(project: Project) -> None:
    """HATCH_MEADOW_DEPLOY=1 with HATCH_MEADOW_PORT=sim://: generate, validate, patch, deploy, in one build."""
    root = project('device-id = "dev-001"\n')
    run = hatchling_build(root, env={"HATCH_MEADOW_DEPLOY": "1", "HATCH_MEADOW_PORT": "sim://hook-test"})
    assert run.returncode == 0, run.output
    assert "generated rsa-2048 credentials for dev-001" in run.output
    assert "the board imported the credentials into its secrets store" in run.output
    assert "on sim://hook-test: credentials sent, 3 file(s)" in run.output
    assert json.loads((machine_state() / "deploy-record.json").read_text())["boards"]
    assert not (root / ".hatch-meadow" / "deploy-record.json").exists()  # never in the project (or its sdist)


def test_build_deploy_with_no_board_fails_with_exit_and_message(project: Project) -> None:
    """deploy = true and a port that does not exist: the build stops with the port error, no traceback."""
    root = project('deploy = true\nport = "/dev/ttyNOPE7"\n')
    run = hatchling_build(root)
    assert run.returncode == 3
    assert "/dev/ttyNOPE7: no such port" in run.output
    assert "Traceback" not in run.output


def test_build_listens_to_the_board_after_deploying(project: Project) -> None:
    """listen-seconds + ready-pattern (issue #14): the build reports the app's ready line after the deploy."""
    root = project('device-id = "dev-001"\nkey-type = "ec-p256"\nlisten-seconds = 10\n'
                   'ready-pattern = "connected to the IoT hub"\n')
    run = hatchling_build(root, env={"HATCH_MEADOW_DEPLOY": "1", "HATCH_MEADOW_PORT": "sim://hook-listen?runtime=enabled"})
    assert run.returncode == 0, run.output
    assert "the board's app reports ready: App: connected to the IoT hub with the client certificate" in run.output
