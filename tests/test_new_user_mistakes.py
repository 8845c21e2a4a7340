"""Issue #9 item 0: plausible mistakes of a new user get a clear answer, not silence or a wrong place."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Project = Callable[..., Path]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60, check=False)


@pytest.mark.parametrize("command", [["generate", "--device-id", "dev-1"], ["check"], ["thumbprint"], ["fix"],
                                     ["deploy", "--port", "sim://x"], ["clear", "--yes"]])
@pytest.mark.parametrize("folder", ["nothere", "empty", "file.csproj"])
def test_a_mistyped_project_folder_is_an_error_and_nothing_is_written(tmp_path: Path, command: list[str],
                                                                       folder: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.csproj").write_text("<Project />")
    run = run_cli(*command, "--project", folder, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert "--project" in run.stderr
    why = {"nothere": "no such folder", "empty": "no pyproject.toml", "file.csproj": "is a file; give the folder"}
    assert why[folder] in run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file.csproj"]
    assert not list((tmp_path / "empty").iterdir())


@pytest.mark.parametrize("table", ["tool.hatch.build.hook.meadow", "tool.hatch.build.hooks.Meadow",
                                   "tool.hatch.build.hooks.hatch-meadow", "tool.hatch.hooks.meadow",
                                   "tool.hatch.build.targets.wheel.hook.meadow", "tool.hatch-meadow", "tool.meadow"])
def test_check_reports_a_hook_table_under_a_misspelt_name(project: Project, table: str) -> None:
    root = project()
    text = (root / "pyproject.toml").read_text().replace("[tool.hatch.build.hooks.meadow]", f"[{table}]")
    (root / "pyproject.toml").write_text(text)
    run = run_cli("check", "--json", cwd=root)
    assert run.returncode == 1, run.stdout
    findings = json.loads(run.stdout)["project"]["findings"]
    misplaced = [f for f in findings if f["code"] == "hook-table-misplaced"]
    assert len(misplaced) == 1
    assert f"[{table}]" in misplaced[0]["message"]
    assert "[tool.hatch.build.hooks.meadow]" in misplaced[0]["fix"]


def test_an_environment_named_meadow_is_not_a_misplaced_hook_table(project: Project) -> None:
    root = project()
    with (root / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.hatch.envs.meadow]\ndependencies = ["pytest"]\n')
    run = run_cli("check", "--json", cwd=root)
    codes = [f["code"] for f in json.loads(run.stdout)["project"]["findings"]]
    assert "hook-table-misplaced" not in codes


def test_checks_patch_csproj_hint_is_a_complete_quoted_command(project: Project) -> None:
    """The hint names the csproj and the project's options, shell-quoted, and running it does what the build would."""
    root = project("credentials-dir = \"My Creds\"\ncsproj-condition = \"'$(Configuration)' == 'Debug'\"\n")
    run = run_cli("check", "--json", cwd=root)
    pending = [f for f in json.loads(run.stdout)["project"]["findings"] if f["code"] == "csproj-pending"]
    hint = pending[0]["fix"]
    command = hint[hint.index("`") + 1:hint.rindex("`")]
    words = shlex.split(command)
    assert words[:3] == ["hatch-meadow", "patch-csproj", "MeadowApp/MeadowApp.csproj"]
    assert "../My Creds/private_key.pem" in words
    assert words[words.index("--condition") + 1] == "'$(Configuration)' == 'Debug'"
    done = run_cli(*words[1:], cwd=root)
    assert done.returncode == 0, done.stderr
    again = run_cli("check", "--json", cwd=root)
    assert "csproj-pending" not in [f["code"] for f in json.loads(again.stdout)["project"]["findings"]]


def test_check_and_the_build_agree_on_a_project_name_that_cannot_be_a_device_id(project: Project) -> None:
    """No device-id and a 70-character project name: check and the build both refuse it, with the same words."""
    from conftest import hatchling_build

    long_name = "a" * 70
    root = project(name=long_name)
    run = run_cli("check", cwd=root)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "cannot be the default device id" in run.stderr
    build = hatchling_build(root)
    assert build.returncode != 0
    assert "cannot be the default device id" in build.output
    assert not (root / "MeadowApp" / "private_key.pem").exists()


def test_check_refuses_deploy_files_named_like_credentials(project: Project) -> None:
    root = project('deploy-files = ["evil/client_cert.pem"]\n')
    (root / "evil").mkdir()
    (root / "evil" / "client_cert.pem").write_text("not checked")
    run = run_cli("check", "--json", cwd=root)
    codes = [f["code"] for f in json.loads(run.stdout)["project"]["findings"]]
    assert "deploy-file-replaces-credentials" in codes
    assert run.returncode == 1
