"""The build step shared by the hook and the CLI: locate the project, then make the csproj copy the files."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hatch_meadow.config import MeadowConfig, hook_table_path
from hatch_meadow.csproj import PatchResult, ensure_csproj
from hatch_meadow.names import CREDENTIAL_FILES
from hatch_meadow.project import ProjectLayout, resolve_layout

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
    patch = None
    if config.patch_csproj:
        patch = ensure_csproj(
            layout.csproj,
            mode=config.copy_mode,
            condition=config.csproj_condition,
            credentials_dir=layout.credentials_dir,
        )
        shown = _relative(layout.csproj, root)
        for change in patch.changes:
            if change.action != "unchanged":
                where_line = f":{change.line}" if change.line else ""
                info(f"{shown}{where_line}: {change.file}: {change.action}, {change.detail}")
        for warning in patch.warnings:
            warn(warning)
        if not patch.changed:
            info(f"{shown}: credential items up to date ({config.copy_mode})")
    return PrepareOutcome(layout=layout, csproj=patch)


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
