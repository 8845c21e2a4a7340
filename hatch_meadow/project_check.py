"""``check`` for a project folder: the hook's options, exactly as a build would validate them, and the csproj."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from hatch_meadow.config import MeadowConfig, load_config, with_default_device_id
from hatch_meadow.errors import ConfigurationError
from hatch_meadow.findings import Finding, is_failure
from hatch_meadow.names import CREDENTIAL_FILES, PLUGIN_NAME, SECRET_FILES
from hatch_meadow.project import HookTable, ProjectLayout, ProjectSettings, load_project_settings, resolve_layout

if TYPE_CHECKING:
    from hatch_meadow.csproj import PatchResult
    from hatch_meadow.msbuild_eval import FileVerdict


@dataclass(frozen=True, slots=True)
class ProjectCheck:
    """The result of checking a project folder."""

    root: Path
    where: str | None
    config: MeadowConfig | None
    layout: ProjectLayout | None
    csproj: PatchResult | None
    findings: tuple[Finding, ...]

    def copy_verdicts(self) -> tuple[FileVerdict, ...]:
        """Per credential file, whether the next build copies it to its output (after the hook's patch,
        unless ``patch-csproj = false``)."""
        if self.csproj is None or self.config is None:
            return ()
        return self.csproj.verdicts if self.config.patch_csproj else self.csproj.verdicts_before

    def ok(self, *, strict: bool = False) -> bool:
        """No errors (and, under ``strict``, no warnings)."""
        return not is_failure(self.findings, strict=strict)

    def to_json(self, *, strict: bool = False) -> dict[str, Any]:
        """The ``check --json`` object for the project part."""
        return {
            "ok": self.ok(strict=strict),
            "project": str(self.root),
            "table": self.where,
            "config": self.config.to_json() if self.config else None,
            "csproj": None if self.layout is None else {
                "path": _rel(self.layout.csproj, self.root),
                "credentials_dir": _rel(self.layout.credentials_dir, self.root),
                "up_to_date": self.csproj is not None and not self.csproj.changed,
                "pending": [] if self.csproj is None else [
                    {"file": c.file, "action": c.action, "detail": c.detail, "line": c.line}
                    for c in self.csproj.changes if c.action != "unchanged"
                ],
                "copy": [v.to_json() for v in self.copy_verdicts()],
            },
            "findings": [f.to_json() for f in self.findings],
        }


def _effective_table(tables: tuple[HookTable, ...]) -> HookTable | None:
    """The table a wheel build uses: the wheel target's table replaces the global one."""
    wheel = [t for t in tables if t.target == "wheel"]
    if wheel:
        return wheel[0]
    glob = [t for t in tables if t.target is None]
    return glob[0] if glob else None


def _table_findings(settings: ProjectSettings) -> list[Finding]:
    """Where the hook's tables are (or are not): not required, misplaced, hidden by hatch.toml."""
    findings: list[Finding] = []
    pyproject = "pyproject.toml"
    if not settings.uses_hook:
        findings.append(Finding(
            "hook-not-required", "warning", pyproject,
            "hatch-meadow is not in [build-system].requires, so isolated builds fail with "
            "'Unknown build hook: meadow'",
            'add it: requires = ["hatchling", "hatch-meadow"]',
        ))
    for path in settings.misplaced:
        findings.append(Finding(
            "hook-table-misplaced", "error", "hatch.toml" if path.startswith("hatch.toml") else pyproject,
            f"[{path}] looks meant for the meadow hook, but hatchling never reads it there, so the build runs "
            "without the hook (no credentials, no csproj patch)",
            f"rename it to [tool.hatch.build.hooks.{PLUGIN_NAME}] (or [tool.hatch.build.targets.wheel.hooks."
            f"{PLUGIN_NAME}]; in hatch.toml [build.hooks.{PLUGIN_NAME}])",
        ))
    for path in settings.ignored:
        findings.append(Finding(
            "hook-table-ignored", "error", pyproject,
            f"[{path}] is ignored: hatch.toml has a [build] table, which replaces [tool.hatch.build] as a whole "
            "(hatchling reads one or the other, never both)",
            f"move the table into hatch.toml as [{path.removeprefix('tool.hatch.')}], or move hatch.toml's [build] "
            "into pyproject.toml",
        ))
    return findings


def _deploy_file_findings(root: Path, config: MeadowConfig, where: str) -> list[Finding]:
    """``deploy-files`` that would replace the credentials or do not exist."""
    findings: list[Finding] = []
    for name in config.deploy_files:
        if Path(name).name.lower() in {n.lower() for n in CREDENTIAL_FILES}:
            findings.append(Finding("deploy-file-replaces-credentials", "error", "pyproject.toml",
                                    f"{where}.deploy-files: {name} has a credential file's name; the board "
                                    "would import it unchecked in place of the validated set, so a deploy refuses it",
                                    "remove it from deploy-files: the credentials folder's set is always sent"))
        elif not (root / name).is_file():
            findings.append(Finding("deploy-file-missing", "error", "pyproject.toml",
                                    f"{where}.deploy-files: {name} is not a file, so a deploy would stop",
                                    "fix the path (relative to pyproject.toml)"))
    return findings


def check_project(root: Path, environ: dict[str, str] | None = None, *, with_csproj: bool = True) -> ProjectCheck:
    """Validate every ``meadow`` hook table in ``root``'s configuration and report the csproj state.

    Raises:
        ConfigurationError: every invalid option of every table, listed together.
        InputError / ProjectFileError: no pyproject.toml, no or several csproj files, malformed csproj.
    """
    settings = load_project_settings(root)
    env = dict(os.environ if environ is None else environ)
    errors: list[str] = []
    configs: dict[str, MeadowConfig] = {}
    for table in settings.tables:
        try:
            configs[table.where] = load_config(table.raw, table.where, environ=env)
        except ConfigurationError as exc:
            errors.extend(e for e in exc.errors if e not in errors)
    if errors:
        raise ConfigurationError(errors, hint="fix the options above; the build would stop with the same list")

    findings = _table_findings(settings)
    pyproject = "pyproject.toml"
    chosen = _effective_table(settings.tables)
    if chosen is None:
        findings.append(Finding(
            "hook-not-configured", "error", pyproject,
            f"no [tool.hatch.build.hooks.{PLUGIN_NAME}] table, so hatchling never runs the hook",
            f"add an empty [tool.hatch.build.hooks.{PLUGIN_NAME}] table (the defaults fit most projects)",
        ))
        return ProjectCheck(root, None, None, None, None, tuple(findings))
    config = with_default_device_id(configs[chosen.where], settings.name, chosen.where)
    layout = resolve_layout(root, config, chosen.where)
    if not with_csproj:  # options and layout only (generate, deploy…): no lxml, no csproj dry run
        return ProjectCheck(root, chosen.where, config, layout, None, tuple(findings))
    from hatch_meadow.csproj import ensure_csproj

    patch = ensure_csproj(layout.csproj, mode=config.copy_mode, condition=config.csproj_condition,
                          credentials_dir=layout.credentials_dir, dry_run=True)
    findings.extend(_deploy_file_findings(root, config, chosen.where))
    if config.output_dir and not (root / config.output_dir / "App.dll").is_file():
        findings.append(Finding("output-dir-not-built", "warning", "pyproject.toml",
                                f"{chosen.where}.output-dir: {config.output_dir} holds no App.dll (not built yet?); "
                                "a deploy would refuse to sync it", "build the app before deploying"))
    csproj_name = _rel(layout.csproj, root)
    for warning in patch.warnings:
        findings.append(Finding("csproj-item-condition", "warning", csproj_name, warning, None))
    findings.extend(_pending_findings(patch, config, csproj_name, root))
    findings.extend(_release_findings(patch.verdicts if config.patch_csproj else patch.verdicts_before, csproj_name,
                                      chosen.where))
    return ProjectCheck(root, chosen.where, config, layout, patch, tuple(findings))


#: The safe setting: credentials in the app output for Debug builds only; releases get them through `deploy`.
DEBUG_ONLY_CONDITION: Final = "'$(Configuration)' == 'Debug'"


def _release_findings(verdicts: tuple[FileVerdict, ...], csproj_name: str, where: str) -> list[Finding]:
    """The release-config guard (issue #12): secrets the csproj copies to the output of *every* configuration
    end up in Release builds and in `meadow cloud package create` OTA packages sent to the whole fleet."""
    secret = [v.file for v in verdicts if v.copied == "yes" and Path(v.file).name in SECRET_FILES]
    if not secret:
        return []
    return [Finding(
        "credentials-in-release-output", "warning", csproj_name,
        f"{', '.join(secret)} {'is' if len(secret) == 1 else 'are'} copied to the build output of every "
        "configuration, so Release builds and OTA packages (meadow cloud package create) carry the private key",
        f'set {where}.csproj-condition = "{DEBUG_ONLY_CONDITION}" and put the credentials on boards with '
        "`hatch-meadow deploy` (straight into the board's secrets store, never through the app output)",
    )]


def _pending_findings(patch: PatchResult, config: MeadowConfig, csproj_name: str, root: Path) -> list[Finding]:
    """What the next build changes in the csproj, or (patch-csproj = false) what it will not copy."""
    pending = [c for c in patch.changes if c.action != "unchanged"]
    if not pending:
        return []
    files = ", ".join(c.file for c in pending)
    if config.patch_csproj:
        return [Finding("csproj-pending", "info", csproj_name, f"the next build adds or fixes the copy items for "
                        f"{files}", f"or run `{_patch_command(patch, config, csproj_name)}` now (in {root})")]
    reasons = sorted({v.detail.removeprefix("not copied: ").replace(f"{root}{os.sep}", "")
                      for v in patch.verdicts_before if v.copied == "no"})
    # The form the patch would write: Include where default items are off (issue #15), else Update.
    form = "Include" if any("<None Include" in c.detail for c in pending) else "Update"
    return [Finding(
        "csproj-missing-items", "warning", csproj_name,
        f"{files} will not be copied to the build output (patch-csproj = false)"
        + "".join(f"; {reason}" for reason in reasons),
        f"add <None {form}=\"…\"><CopyToOutputDirectory>{config.copy_mode}</CopyToOutputDirectory></None> "
        "items, or set patch-csproj = true",
    )]


def _patch_command(patch: PatchResult, config: MeadowConfig, csproj_name: str) -> str:
    """The `patch-csproj` line that writes what the build would (shell-quoted, run from the project folder)."""
    import shlex

    words = ["hatch-meadow", "patch-csproj", csproj_name]
    files = [c.file for c in patch.changes]
    if set(files) != set(CREDENTIAL_FILES):  # the command's default: the three files beside the csproj
        for name in files:
            words += ["-f", name]
    if config.copy_mode != "Always":
        words += ["--mode", config.copy_mode]
    if config.csproj_condition:
        words += ["--condition", config.csproj_condition]
    return shlex.join(words)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def effective_settings(project_dir: Path, environ: dict[str, str] | None = None, *, with_csproj: bool = False,
                       ) -> tuple[MeadowConfig | None, ProjectLayout | None]:
    """The options and layout a wheel build would use, or (None, None) without a pyproject.toml.

    Raises:
        ConfigurationError / ProjectFileError: as the build would.
    """
    if not (project_dir / "pyproject.toml").is_file():
        return None, None
    result = check_project(project_dir, environ, with_csproj=with_csproj)
    return result.config, result.layout
