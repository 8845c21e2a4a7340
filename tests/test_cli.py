"""The hatch-meadow CLI: exit codes, JSON, and the same validation as the hook."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CSPROJ
from test_build_hook import PATCHED, csproj_of

from hatch_meadow import __version__
from hatch_meadow.cli import main

Project = Callable[..., Path]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)


def test_cli_version_via_python_m() -> None:
    """`python -m hatch_meadow --version` prints the version and exits 0."""
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"hatch-meadow, version {__version__}"


def test_cli_console_script_matches_python_m() -> None:
    """The installed console script is the same program."""
    exe = Path(sys.executable).with_name("hatch-meadow")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert __version__ in proc.stdout


def test_cli_unknown_command_is_usage_error() -> None:
    """A usage error exits 2."""
    proc = run_cli("frobnicate")
    assert proc.returncode == 2
    assert "No such command 'frobnicate'" in proc.stderr


def test_check_ok_project_exits_0_and_reports_pending_items(project: Project) -> None:
    """A valid, not yet built project passes; the csproj items are reported as pending."""
    root = project()
    proc = run_cli("check", "--project", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert (report["parse"], report["pair"], report["profile"], report["thumbprints"]) == (
        "reject", "n/a", "meadow-f7", None)
    project_part = report["project"]
    assert project_part["table"] == "tool.hatch.build.hooks.meadow"
    assert project_part["config"]["device_id"] == "demo-app"
    assert project_part["csproj"]["path"] == "MeadowApp/MeadowApp.csproj"
    assert project_part["csproj"]["up_to_date"] is False
    assert [p["file"] for p in project_part["csproj"]["pending"]] == [
        "client_cert.pem", "private_key.pem", "private_key_pass.txt"]
    assert [f["code"] for f in report["findings"]] == ["csproj-pending", "credentials-in-release-output",
                                                       "credentials-pending"]
    assert csproj_of(root).read_text() == CSPROJ


def test_check_human_output(project: Project) -> None:
    """Without --json, check prints a readable summary."""
    root = project()
    proc = run_cli("check", "--project", str(root))
    assert proc.returncode == 0
    assert "options   tool.hatch.build.hooks.meadow: valid" in proc.stdout
    assert "csproj    MeadowApp/MeadowApp.csproj: needs changes" in proc.stdout


def test_check_config_errors_exit_2_with_all_messages(project: Project) -> None:
    """Invalid options: exit 2, every message, nothing on stdout but the JSON error object."""
    root = project('key-type = "x"\nstrict = "no"\n')
    proc = run_cli("check", "--project", str(root), "--json")
    assert proc.returncode == 2
    payload = json.loads(proc.stdout)
    assert payload["ok"] is False
    assert "tool.hatch.build.hooks.meadow.key-type: must be one of" in payload["error"]["message"]
    assert "tool.hatch.build.hooks.meadow.strict: must be true or false, not a string" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_without_hook_table_exits_1(project: Project) -> None:
    """A project with no meadow table is a finding (the hook would never run)."""
    root = project()
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("[tool.hatch.build.hooks.meadow]\n", ""))
    assert main(["check", "--project", str(root)]) == 1


def test_check_patch_csproj_false_warns_about_missing_items(project: Project,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """With patch-csproj = false, missing copy items are a warning."""
    root = project("patch-csproj = false\n")
    assert main(["check", "--project", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in report["findings"]] == ["csproj-missing-items", "credentials-pending"]
    assert report["findings"][0]["severity"] == "warning"


def test_check_empty_folder_reports_missing_credentials(tmp_path: Path) -> None:
    """No project and no credentials: a finding (exit 1) that says how to make them."""
    proc = subprocess.run([sys.executable, "-m", "hatch_meadow", "check"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60, check=False)
    assert proc.returncode == 1
    assert "[credentials-missing]" in proc.stdout
    assert "hatch-meadow generate" in proc.stdout


def test_patch_csproj_writes_then_reports_unchanged(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    """patch-csproj adds the items, and a re-run leaves the file alone."""
    root = project()
    assert main(["patch-csproj", str(csproj_of(root))]) == 0
    assert csproj_of(root).read_text() == PATCHED
    capsys.readouterr()
    assert main(["patch-csproj", str(csproj_of(root)), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["changed"] is False
    assert payload["written"] is False


def test_patch_csproj_dry_run_prints_diff_and_writes_nothing(project: Project) -> None:
    """--dry-run shows a unified diff, exits 1 (a change is pending) and leaves the file untouched."""
    root = project()
    proc = run_cli("patch-csproj", str(csproj_of(root)), "--dry-run", "--mode", "PreserveNewest",
                   "-f", "client_cert.pem")
    assert proc.returncode == 1
    assert '+  <ItemGroup Label="hatch-meadow">' in proc.stdout
    assert "+      <CopyToOutputDirectory>PreserveNewest</CopyToOutputDirectory>" in proc.stdout
    assert "private_key" not in proc.stdout
    assert csproj_of(root).read_text() == CSPROJ


def test_patch_csproj_remove_undoes_patch(project: Project) -> None:
    """--remove takes our ItemGroup out again."""
    root = project()
    assert main(["patch-csproj", str(csproj_of(root)), "--condition", "'$(Configuration)' == 'Debug'"]) == 0
    assert main(["patch-csproj", str(csproj_of(root)), "--remove"]) == 0
    assert csproj_of(root).read_text() == CSPROJ


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such file"),
        ("dir", "is a directory, not a .csproj file"),
        ("malformed", "not well-formed XML at line 1, column"),
        ("readonly", "is read-only"),
        ("notproject", "the root element is <Foo>, not an MSBuild <Project>"),
    ],
)
def test_patch_csproj_bad_input_exits_2_unchanged(tmp_path: Path, setup: str, message: str) -> None:
    """Bad csproj inputs exit 2 with a message and a hint, no traceback, and no change."""
    path = tmp_path / "App.csproj"
    if setup == "dir":
        path.mkdir()
    elif setup == "malformed":
        path.write_text("<Project><ItemGroup></Project>")
    elif setup == "readonly":
        path.write_text(CSPROJ)
        path.chmod(0o444)
    elif setup == "notproject":
        path.write_text("<Foo/>")
    before = path.read_bytes() if path.is_file() else None
    proc = run_cli("patch-csproj", str(path))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr
    if before is not None:
        assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["App.csproj"] if setup != "missing" else True


def test_hooks_module_is_import_light() -> None:
    """Importing the entry-point module loads neither lxml, click, rich, cryptography nor pyserial."""
    code = ("import sys, hatch_meadow.hooks; "
            "print(sorted(m for m in ('lxml', 'click', 'rich', 'cryptography', 'serial') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_plugin_module_is_import_light() -> None:
    """Hatchling importing the hook class does not pull in lxml or the CLI stack either."""
    code = ("import sys, hatch_meadow.plugin; "
            "print(sorted(m for m in ('lxml', 'click', 'rich', 'cryptography', 'serial') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_check_without_project_checks_this_folders_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a project, `check` looks at the credentials in the current folder."""
    from hatch_meadow.creds.generate import generate_credentials

    generate_credentials(tmp_path, device_id="dev-9")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["parse"], report["pair"], report["project"]) == ("accept", "match", None)


def test_check_reports_missing_deploy_files(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    """A deploy-files entry that does not exist is an error before any deploy is tried."""
    root = project('deploy-files = ["nope.txt"]\n')
    assert main(["check", "--project", str(root), "--json"]) == 1
    codes = [f["code"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert "deploy-file-missing" in codes


@pytest.mark.parametrize("columns", ["40", "80", "120", "200"])
def test_fast_top_help_is_clicks_help(columns: str, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` is answered without click, in exactly the text click renders at the same terminal width."""
    from hatch_meadow.cli.app import run_click

    monkeypatch.setenv("COLUMNS", columns)
    assert main(["--help"]) == 0
    fast = capsys.readouterr().out
    assert run_click(["--help"]) == 0
    assert capsys.readouterr().out == fast


def test_fast_version_is_clicks_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` / `-V` print what click's version option prints."""
    from hatch_meadow.cli.app import run_click

    assert main(["--version"]) == 0
    fast = capsys.readouterr().out
    assert run_click(["--version"]) == 0
    assert capsys.readouterr().out == fast
    assert main(["-V"]) == 0
    assert capsys.readouterr().out == fast


def test_command_table_matches_each_commands_short_help() -> None:
    """The help listing comes from the table; each command's own short_help says the same."""
    import importlib

    import click

    from hatch_meadow.cli import COMMANDS

    for name, (module, attribute, short_help) in COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        assert (command.name, command.short_help) == (name, short_help)


def test_version_and_help_import_no_click() -> None:
    """The short commands stay close to Python's own start-up: click is not even imported."""
    code = ("import sys, io, contextlib; from hatch_meadow.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--version']); main(['--help'])\n"
            "print('click' in sys.modules, 'typing' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "False"]
