"""Where things are in a user's project: the .csproj, the credentials folder, the hook's TOML tables."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hatch_meadow.config import MeadowConfig, hook_table_path
from hatch_meadow.errors import ConfigurationError, InputError, ProjectFileError
from hatch_meadow.names import CREDENTIAL_FILES, PLUGIN_NAME

#: Folders never searched for a .csproj: build output, VCS data, virtual environments.
_SKIPPED_DIRS: Final = frozenset({"bin", "obj", "node_modules", "build", "dist", "__pycache__"})
CSPROJ_SEARCH_DEPTH: Final = 2


@dataclass(frozen=True, slots=True)
class ProjectLayout:
    """Resolved locations for one build: the .csproj and the folder holding the credential files."""

    root: Path
    csproj: Path
    credentials_dir: Path


def find_csproj_candidates(root: Path, depth: int = CSPROJ_SEARCH_DEPTH) -> list[Path]:
    """Every ``*.csproj`` in ``root`` and up to ``depth`` folder levels below it, sorted."""
    found: list[Path] = []
    level = [root]
    for current_depth in range(depth + 1):
        next_level: list[Path] = []
        for folder in level:
            try:
                entries = sorted(folder.iterdir())
            except OSError:
                continue
            for entry in entries:
                if entry.suffix.lower() == ".csproj" and entry.is_file():
                    found.append(entry)
                elif (current_depth < depth and entry.is_dir() and not entry.is_symlink()
                      and not entry.name.startswith(".") and entry.name not in _SKIPPED_DIRS):
                    next_level.append(entry)
        level = next_level
    return sorted(found)


def resolve_layout(root: Path, config: MeadowConfig, where: str = hook_table_path()) -> ProjectLayout:
    """Find the .csproj (the ``csproj`` option, or the only one within two levels) and the credentials folder.

    Raises:
        ProjectFileError: no .csproj, several candidates, or the configured one is missing.
    """
    if config.csproj is not None:
        csproj = root / config.csproj
        if not csproj.exists():
            raise ProjectFileError(
                f"{where}.csproj: {config.csproj} does not exist (looked in {root})",
                hint="give the path relative to the folder holding pyproject.toml",
            )
    else:
        candidates = find_csproj_candidates(root)
        if not candidates:
            raise ProjectFileError(
                f"no .csproj found in {root} or two folder levels below it",
                hint=f"set {where}.csproj to the Meadow app's project file, e.g. \"MeadowApp/MeadowApp.csproj\"",
            )
        if len(candidates) > 1:
            listed = ", ".join(str(c.relative_to(root)) for c in candidates)
            raise ProjectFileError(
                f"found {len(candidates)} .csproj files in {root}: {listed}",
                hint=f"set {where}.csproj to the one that is the Meadow app",
            )
        csproj = candidates[0]
    if not config.allow_outside_project:
        _confine(root, config, where)
    credentials_dir = root / config.credentials_dir if config.credentials_dir else csproj.parent
    if credentials_dir.exists() and not credentials_dir.is_dir():
        raise InputError(f"{where}.credentials-dir: {credentials_dir} is a file, not a folder",
                         hint="point credentials-dir at a folder (it is created when missing)")
    if not config.allow_outside_project:
        _confine_credential_links(root, credentials_dir, where)
    return ProjectLayout(root=root, csproj=csproj, credentials_dir=credentials_dir)


def outside_problem(root: Path, value: str) -> str | None:
    """Why the project-relative path ``value`` leads outside ``root`` (after symlinks), or None."""
    path = Path(value)
    if path.is_absolute() or path.drive:
        return "is an absolute path"
    if ".." in path.parts:
        return "leaves the project folder with '..'"
    try:
        real = (root / path).resolve()
        inside = real.is_relative_to(root.resolve())
    except (OSError, RuntimeError) as exc:  # a symlink loop
        return f"cannot be resolved ({exc})"
    return None if inside else f"leads through a symlink to {real}, outside the project folder"


def _confine(root: Path, config: MeadowConfig, where: str) -> None:
    """Every path option inside the project folder (unless ``allow-outside-project``).

    Raises:
        ConfigurationError: listing every path that leaves it, with its TOML path.
    """
    paths = [("csproj", config.csproj), ("credentials-dir", config.credentials_dir), ("output-dir", config.output_dir)]
    paths += [("deploy-files", name) for name in config.deploy_files]
    errors = [f"{where}.{key}: {value!r} {problem}" for key, value in paths
              if value is not None and (problem := outside_problem(root, value))]
    if errors:
        raise ConfigurationError(errors, hint="keep these inside the folder that holds pyproject.toml, or set "
                                 "allow-outside-project = true if you mean it (README: Options)")


def _confine_credential_links(root: Path, credentials_dir: Path, where: str) -> None:
    """A credential file that is a symlink must lead to a file inside the project (it is copied and deployed).

    Raises:
        ConfigurationError: naming each link that leads out of the project (or loops).
    """
    errors: list[str] = []
    for name in CREDENTIAL_FILES:
        link = credentials_dir / name
        if not link.is_symlink():
            continue
        target = os.readlink(link)
        try:
            real = link.resolve()
        except (OSError, RuntimeError):  # a loop
            errors.append(f"{where}.credentials-dir: {name} is a symlink to {target!r} that loops")
            continue
        if not real.is_relative_to(root.resolve()):
            errors.append(f"{where}.credentials-dir: {name} is a symlink to {target!r}, which is {real}, "
                          "outside the project folder")
    if errors:
        raise ConfigurationError(errors, hint="replace the link with the file itself (the build copies it into the "
                                 "app and onto the board), or set allow-outside-project = true if you mean it")


def credential_paths(
    csproj: Path, credentials_dir: Path, names: Sequence[str] = CREDENTIAL_FILES
) -> tuple[list[str], list[str]]:
    """The credential files as csproj-relative ``/`` paths, and the subset outside the project folder.

    Always the canonical names: a credential file that is a symlink is named as the link (the board needs
    ``private_key.pem``, whatever the link points at), only the folders are resolved.
    """
    project_dir = csproj.parent.resolve()
    try:
        folder = credentials_dir.resolve()
    except (OSError, RuntimeError):  # a loop: named as given; the credential check reports it
        folder = Path(os.path.abspath(credentials_dir))
    files: list[str] = []
    outside: list[str] = []
    for file_name in names:
        relative = Path(os.path.relpath(folder / file_name, project_dir)).as_posix()
        files.append(relative)
        if relative.startswith("../"):
            outside.append(relative)
    return files, outside


@dataclass(frozen=True, slots=True)
class HookTable:
    """One ``meadow`` hook table found in a project's configuration."""

    where: str
    raw: Mapping[str, Any]
    target: str | None


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """What the CLI reads from a project folder without building it."""

    root: Path
    name: str | None
    tables: tuple[HookTable, ...]
    uses_hook: bool
    #: Tables that look meant for the hook but sit where hatchling never reads them (e.g. ``build.hook.meadow``).
    misplaced: tuple[str, ...] = ()
    #: ``[tool.hatch.build…]`` hook tables hatchling ignores because hatch.toml has a ``[build]`` table.
    ignored: tuple[str, ...] = ()


def load_project_settings(root: Path) -> ProjectSettings:
    """Read ``pyproject.toml`` (and ``hatch.toml``) for the hook's tables, as hatchling reads them: hatch.toml's
    top-level tables replace ``[tool.hatch]``'s of the same name, so a ``[build]`` table in hatch.toml hides every
    ``[tool.hatch.build…]`` table (those are reported in ``ignored``).

    Raises:
        InputError: no pyproject.toml, or invalid TOML (with the line and column).
    """
    pyproject = root / "pyproject.toml"
    data = _load_toml(pyproject, required=True)
    hatch_toml = _load_toml(root / "hatch.toml", required=False)
    name = _sub(data, "project", "project").get("name")
    tool_hatch = _sub(_sub(data, "tool", "tool"), "hatch", "tool.hatch")
    from_hatch_toml = "build" in hatch_toml
    tables = _hook_tables(hatch_toml if from_hatch_toml else tool_hatch, hatch_toml=from_hatch_toml)
    ignored = [t.where for t in _hook_tables(tool_hatch, hatch_toml=False)] if from_hatch_toml else []
    requires = _sub(data, "build-system", "build-system").get("requires", [])
    uses_hook = isinstance(requires, list) and any(
        isinstance(r, str) and r.replace("_", "-").lower().startswith("hatch-meadow") for r in requires)
    tool = _sub(data, "tool", "tool")
    misplaced = [f"tool.{k}" for k, v in tool.items() if isinstance(v, dict) and k.lower() in _HOOKISH]
    misplaced += [f"tool.hatch.{p}" for p in _misplaced_tables(tool_hatch, ())]
    misplaced += [f"hatch.toml [{p}]" for p in _misplaced_tables(hatch_toml, ())]
    return ProjectSettings(root=root, name=name if isinstance(name, str) else None, tables=tuple(tables),
                           uses_hook=uses_hook, misplaced=tuple(misplaced), ignored=tuple(ignored))


def _hook_tables(hatch_cfg: Mapping[str, Any], *, hatch_toml: bool) -> list[HookTable]:
    """The ``meadow`` tables of one hatch configuration (``[tool.hatch]`` or hatch.toml): global, then by target."""
    dot = "" if hatch_toml else "tool.hatch."
    build = _sub(hatch_cfg, "build", f"{dot}build")
    tables: list[HookTable] = []
    hook = _sub(build, "hooks", f"{dot}build.hooks").get(PLUGIN_NAME)
    if hook is not None:
        where = hook_table_path(hatch_toml=hatch_toml)
        tables.append(HookTable(where, _table(hook, where), None))
    targets = _sub(build, "targets", f"{dot}build.targets")
    for target, target_cfg in sorted(targets.items()):
        target_table = _sub(targets, target, f"{dot}build.targets.{target}")
        hook = _sub(target_table, "hooks", f"{dot}build.targets.{target}.hooks").get(PLUGIN_NAME) \
            if target_cfg is not None else None
        if hook is not None:
            where = hook_table_path(target, hatch_toml=hatch_toml)
            tables.append(HookTable(where, _table(hook, where), target))
    return tables


#: Names a user may give the hook's table by mistake (hatchling reads only ``meadow``, in ``hooks``).
_HOOKISH: Final = frozenset({"meadow", "hatch-meadow", "hatch_meadow", "hatchmeadow"})


def _misplaced_tables(table: Mapping[str, Any], path: tuple[str, ...]) -> list[str]:
    """Dotted paths (below ``tool.hatch``) of tables named like the hook that hatchling does not read as it."""
    found: list[str] = []
    for key, value in table.items():
        if not isinstance(value, dict) or (path == () and key == "envs") or len(path) > 6:
            continue  # environments may have any name, "meadow" included
        here = (*path, str(key))
        valid = here == ("build", "hooks", PLUGIN_NAME) or (
            len(here) == 5 and here[:2] == ("build", "targets") and here[3:] == ("hooks", PLUGIN_NAME))
        if str(key).lower() in _HOOKISH and not valid:
            found.append(".".join(here))
        elif not valid:
            found.extend(_misplaced_tables(value, here))
    return found


def _sub(table: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """``table[key]`` when it is a table (or absent → empty); anything else is a configuration error."""
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigurationError([f"{where}: must be a table, not {type(value).__name__}"])
    return value


def _table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigurationError([f"{where}: must be a table, not {type(value).__name__}"])
    return value


def _load_toml(path: Path, *, required: bool) -> dict[str, Any]:
    # Imported here: the build hook never reads TOML itself (hatchling hands it the table).
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib

    if not path.exists():
        if required:
            raise InputError(f"{path}: no such file", hint="run this in the folder that holds pyproject.toml, "
                             "or pass --project DIR")
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError([f"{path}: invalid TOML: {exc}"]) from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from exc
