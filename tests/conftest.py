"""Shared fixtures: real temporary Meadow projects and real hatchling builds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from hatch_meadow.mbedtls_oracle import RealMbedTLS

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example_project"

CSPROJ = """\
<Project Sdk="Meadow.Sdk/1.1.0">
  <PropertyGroup>
    <TargetFramework>netstandard2.1</TargetFramework>
    <OutputType>Library</OutputType>
    <AssemblyName>App</AssemblyName>
  </PropertyGroup>
  <ItemGroup>
    <None Update="meadow.config.yaml">
      <CopyToOutputDirectory>Always</CopyToOutputDirectory>
    </None>
  </ItemGroup>
</Project>
"""


@dataclass
class BuildRun:
    """A finished hatchling build: exit code, output and the artifacts it left in dist/."""

    returncode: int
    stdout: str
    stderr: str
    artifacts: list[Path]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def write_project(
    root: Path,
    hook_table: str = "",
    *,
    name: str = "demo-app",
    csproj: str | None = CSPROJ,
    csproj_path: str = "MeadowApp/MeadowApp.csproj",
    extra_toml: str = "",
    gitignore: bool = True,
) -> Path:
    """Write a small Meadow project driven by hatchling with the meadow hook."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["hatchling>=1.24", "hatch-meadow"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "0.1.0"

        [tool.hatch.build.targets.wheel]
        bypass-selection = true

        [tool.hatch.build.hooks.meadow]
        """) + textwrap.dedent(hook_table) + textwrap.dedent(extra_toml))
    if csproj is not None:
        path = root / csproj_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(csproj, newline="")
    if gitignore:
        (root / ".gitignore").write_text("private_key.pem\nprivate_key_pass.txt\nclient_cert.pem\n")
    return root


def hatchling_build(
    root: Path, *args: str, env: Mapping[str, str] | None = None, target: str = "wheel"
) -> BuildRun:
    """Run `python -m hatchling build` (no isolation: the plugin from this checkout) in ``root``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HATCH_") or k == "HATCH_MEADOW_STATE_DIR"}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", target, *args],
        cwd=root, env=full_env, capture_output=True, text=True, timeout=300, check=False,
    )
    dist = root / "dist"
    artifacts = sorted(dist.iterdir()) if dist.exists() else []
    return BuildRun(proc.returncode, proc.stdout, proc.stderr, artifacts)


@pytest.fixture(name="project")
def _project(tmp_path: Path) -> Callable[..., Path]:
    """Factory for a temporary Meadow project (see write_project)."""
    def make(hook_table: str = "", **kwargs: object) -> Path:
        return write_project(tmp_path / "proj", hook_table, **kwargs)  # type: ignore[arg-type]
    return make


@pytest.fixture(autouse=True)
def _clean_hatch_meadow_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never see the developer's HATCH_MEADOW_* variables, and each has its own machine state
    folder (deploy record, port locks) instead of the developer's."""
    for key in list(os.environ):
        if key.startswith("HATCH_MEADOW_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HATCH_MEADOW_STATE_DIR", str(tmp_path_factory.mktemp("machine-state")))


def machine_state() -> Path:
    """This test's machine state folder (set by the autouse fixture above)."""
    return Path(os.environ["HATCH_MEADOW_STATE_DIR"])


@pytest.fixture(name="real_mbedtls", scope="session")
def _real_mbedtls() -> RealMbedTLS:
    """Real Mbed TLS 2.28 (python-mbedtls's bundled copy, else the system's); skipped with the reason if neither."""
    from hatch_meadow.mbedtls_oracle import MbedTLSUnavailable, load

    try:
        return load()
    except MbedTLSUnavailable as exc:
        pytest.skip(f"{exc}; hint: {exc.hint}")
