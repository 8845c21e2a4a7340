"""The CLI reads a project's hook table without building (hatchling costs a short command ~40 ms to import); the
hook gets it from hatchling. Both must see the same table and the same default device id, in every layout
hatchling supports: checked here against hatchling's own ``WheelBuilder(root).config.hook_config`` and
``.metadata.name`` (real hatchling, no build)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import CSPROJ
from hatchling.builders.wheel import WheelBuilder

from hatch_meadow.config import MeadowConfig, load_config, with_default_device_id
from hatch_meadow.project_check import check_project

HEAD = """\
[build-system]
requires = ["hatchling", "hatch-meadow"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "0.1.0"
"""

#: (pyproject.toml body after [project], hatch.toml or None, project name)
LAYOUTS: dict[str, tuple[str, str | None, str]] = {
    "global table": ('[tool.hatch.build.hooks.meadow]\nkey-type = "ec-p256"\n', None, "demo-app"),
    "empty global table, name to normalise": ("[tool.hatch.build.hooks.meadow]\n", None, "My_Cool.App"),
    "wheel target replaces the global table": (
        '[tool.hatch.build.hooks.meadow]\ndevice-id = "global"\nkey-type = "ec-p256"\n'
        '[tool.hatch.build.targets.wheel.hooks.meadow]\ndevice-id = "wheel-only"\n', None, "demo-app"),
    "sdist-only table is not the wheel's": (
        '[tool.hatch.build.hooks.meadow]\ndevice-id = "global"\n'
        '[tool.hatch.build.targets.sdist.hooks.meadow]\ndevice-id = "sdist-only"\n', None, "demo-app"),
    "hatch.toml [build] hides [tool.hatch.build]": (
        '[tool.hatch.build.hooks.meadow]\ndevice-id = "from-pyproject"\n',
        '[build.hooks.meadow]\ndevice-id = "from-hatch-toml"\n', "demo-app"),
    "hatch.toml [build] hides the pyproject wheel table too": (
        '[tool.hatch.build.targets.wheel.hooks.meadow]\ndevice-id = "from-pyproject-wheel"\n',
        '[build.hooks.meadow]\ndevice-id = "from-hatch-toml"\n', "demo-app"),
    "hatch.toml wheel target": (
        "", '[build.hooks.meadow]\ndevice-id = "ht-global"\n[build.targets.wheel.hooks.meadow]\n'
        'device-id = "ht-wheel"\n', "demo-app"),
    "hatch.toml without [build] leaves pyproject's table": (
        '[tool.hatch.build.hooks.meadow]\ndevice-id = "from-pyproject"\n', '[envs.default]\ndependencies = []\n',
        "demo-app"),
    "empty hatch.toml": ('[tool.hatch.build.hooks.meadow]\nkey-encryption = "des3"\n', "", "Demo.App"),
}


def _write(root: Path, body: str, hatch_toml: str | None, name: str) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(HEAD.format(name=name) + body)
    if hatch_toml is not None:
        (root / "hatch.toml").write_text(textwrap.dedent(hatch_toml))
    (root / "MeadowApp").mkdir()
    (root / "MeadowApp" / "MeadowApp.csproj").write_text(CSPROJ)
    return root


def _as_the_hook_sees_it(root: Path) -> MeadowConfig | None:
    builder = WheelBuilder(str(root))
    raw = builder.config.hook_config.get("meadow")
    if raw is None:
        return None
    return with_default_device_id(load_config(raw, environ={}), builder.metadata.name)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_check_reads_the_table_and_name_the_hook_gets_from_hatchling(tmp_path: Path, layout: str) -> None:
    body, hatch_toml, name = LAYOUTS[layout]
    root = _write(tmp_path / "p", body, hatch_toml, name)
    ours = check_project(root, environ={}, with_csproj=False).config
    assert ours == _as_the_hook_sees_it(root)


def test_a_table_hatch_toml_hides_is_reported(tmp_path: Path) -> None:
    body, hatch_toml, name = LAYOUTS["hatch.toml [build] hides [tool.hatch.build]"]
    root = _write(tmp_path / "p", body, hatch_toml, name)
    findings = check_project(root, environ={}, with_csproj=False).findings
    ignored = [f for f in findings if f.code == "hook-table-ignored"]
    assert len(ignored) == 1
    assert "[tool.hatch.build.hooks.meadow] is ignored" in ignored[0].message
    assert "[build.hooks.meadow]" in (ignored[0].fix or "")


def test_no_table_anywhere_hatchling_sees_agrees_with_hook_not_configured(tmp_path: Path) -> None:
    """hatch.toml's [build] has no meadow table: hatchling runs no hook, and check says so."""
    root = _write(tmp_path / "p", '[tool.hatch.build.hooks.meadow]\n', '[build]\nexclude = ["x"]\n', "demo-app")
    assert _as_the_hook_sees_it(root) is None
    codes = [f.code for f in check_project(root, environ={}, with_csproj=False).findings]
    assert "hook-not-configured" in codes
    assert "hook-table-ignored" in codes
