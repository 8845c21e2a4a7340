"""Isolated PEP 517 builds (`python -m build`) that install hatch-meadow from a local path.

These need the package index for hatchling and the plugin's dependencies, so they are marked slow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CSPROJ, REPO
from test_build_hook import PATCHED, csproj_of

pytestmark = pytest.mark.slow
Project = Callable[..., Path]


@pytest.fixture(name="plugin_copy", scope="module")
def _plugin_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this checkout's package at a fresh path, so pip's cache cannot serve a stale build."""
    dest = tmp_path_factory.mktemp("plugin") / "hatch-meadow"
    dest.mkdir()
    shutil.copytree(REPO / "hatch_meadow", dest / "hatch_meadow",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    return dest


def run_build(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HATCH_", "PIP_REQUIRE"))}
    return subprocess.run([sys.executable, "-m", "build", *args, str(root)], capture_output=True, text=True,
                          timeout=600, env=env, check=False)


def test_isolated_wheel_build_installs_plugin_and_patches(project: Project, plugin_copy: Path) -> None:
    """`python -m build --wheel` in a fresh isolated env runs the hook from a file:// requirement."""
    root = project()
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '"hatch-meadow"', f'"hatch-meadow @ {plugin_copy.as_uri()}"'))
    proc = run_build(root, "--wheel")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert csproj_of(root).read_text() == PATCHED
    assert list((root / "dist").glob("demo_app-0.1.0-*.whl"))


def test_isolated_build_via_sdist_warns_and_leaves_checkout(project: Project, plugin_copy: Path) -> None:
    """Plain `python -m build` builds the wheel from an unpacked sdist: the hook says so and does nothing."""
    root = project()
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '"hatch-meadow"', f'"hatch-meadow @ {plugin_copy.as_uri()}"'))
    proc = run_build(root)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "this wheel is being built from an unpacked sdist" in output
    assert csproj_of(root).read_text() == CSPROJ
