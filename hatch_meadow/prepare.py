"""The build step shared by the hook and the CLI: locate the project, make or check the credentials, then
make the csproj copy them to the build output."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_meadow import __version__
from hatch_meadow.config import MeadowConfig, hook_table_path
from hatch_meadow.names import CREDENTIAL_FILES
from hatch_meadow.project import ProjectLayout, credential_paths, resolve_layout
from hatch_meadow.state import fingerprint, load_state, update_state

if TYPE_CHECKING:
    from hatch_meadow.csproj import PatchResult

_CSPROJ_STATE = "csproj"

Report = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class PrepareOutcome:
    """What one run of the build step did."""

    layout: ProjectLayout
    csproj: PatchResult | None


def prepare_project(
    root: Path,
    config: MeadowConfig,
    *,
    where: str = hook_table_path(),
    info: Report = _quiet,
    warn: Report = _quiet,
) -> PrepareOutcome:
    """Run the build step for the project at ``root``: idempotent, writes only what must change.

    Raises:
        MeadowError: with a message naming the file and the fix; nothing has been half-written.
    """
    layout = resolve_layout(root, config, where)
    # Plan the csproj change first: a bad csproj must stop the build before anything is generated.
    plan = _plan_csproj(layout, config) if config.patch_csproj else None
    if config.credentials != "off":
        from hatch_meadow.ensure import ensure_credentials

        ensure_credentials(root, layout.credentials_dir, config, info=info, warn=warn)
    patch = _apply_csproj(layout, config, plan, info=info, warn=warn) if config.patch_csproj else None
    return PrepareOutcome(layout=layout, csproj=patch)


@dataclass(frozen=True, slots=True)
class _CsprojPlan:
    options: str
    result: PatchResult | None  # None: the recorded state proves the csproj is already right


def _plan_csproj(layout: ProjectLayout, config: MeadowConfig) -> _CsprojPlan:
    """Plan the csproj change, unless its bytes and our options are exactly those of the last good run."""
    files, outside = credential_paths(layout.csproj, layout.credentials_dir)
    options = json.dumps([__version__, files, outside, config.copy_mode, config.csproj_condition])
    try:
        current = layout.csproj.read_bytes() if layout.csproj.is_file() else b""
    except OSError:
        current = b""
    recorded = load_state(layout.root).get(_CSPROJ_STATE)
    shown = _relative(layout.csproj, layout.root)
    if current and recorded == {"path": shown, "stamp": fingerprint(current, options)}:
        return _CsprojPlan(options, None)

    from hatch_meadow.csproj import check_writable, ensure_csproj  # lxml: only when the csproj may need work

    result = ensure_csproj(layout.csproj, files, mode=config.copy_mode, condition=config.csproj_condition,
                           dry_run=True)
    if result.changed:
        check_writable(layout.csproj.resolve(), str(layout.csproj))
    return _CsprojPlan(options, result)


def _apply_csproj(layout: ProjectLayout, config: MeadowConfig, plan: _CsprojPlan | None, *, info: Report,
                  warn: Report) -> PatchResult | None:
    shown = _relative(layout.csproj, layout.root)
    if plan is None or plan.result is None:
        info(f"{shown}: credential items up to date ({config.copy_mode})")
        return None
    from hatch_meadow.csproj import apply_patch

    patch = apply_patch(layout.csproj, plan.result)
    for change in patch.changes:
        if change.action != "unchanged":
            where_line = f":{change.line}" if change.line else ""
            info(f"{shown}{where_line}: {change.file}: {change.action}, {change.detail}")
    for warning in patch.warnings:
        warn(warning)
    if not patch.changed:
        info(f"{shown}: credential items up to date ({config.copy_mode})")
    if not patch.warnings:  # a run with warnings is re-checked (and the warnings repeated) next time
        update_state(layout.root, _CSPROJ_STATE, {"path": shown, "stamp": fingerprint(patch.patched, plan.options)})
    return patch


def credential_files_relative_to_root(layout: ProjectLayout) -> list[str]:
    """The three credential files as project-root-relative ``/`` paths (for artifact checks)."""
    root = layout.root.resolve()
    return [
        Path(os.path.relpath((layout.credentials_dir / name).resolve(), root)).as_posix()
        for name in CREDENTIAL_FILES
    ]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
