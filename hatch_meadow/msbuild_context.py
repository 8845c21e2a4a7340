"""Read the files MSBuild evaluates around a project: the nearest Directory.Build.props/.targets and imports.

MSBuild imports the *nearest* ``Directory.Build.props`` found walking up from the project's folder
(before the project body) and the nearest ``Directory.Build.targets`` (after it); a parent's file is
read only if the nearer one imports it explicitly, usually with
``$([MSBuild]::GetPathOfFileAbove('Directory.Build.props', '$(MSBuildThisFileDirectory)../'))``
(MSBuild docs, "Customize your build by folder"). This module finds those files and follows imports
whose path it can work out: literal relative paths, ``$(MSBuildThisFileDirectory)``,
``$(MSBuildProjectDirectory)`` and the ``GetPathOfFileAbove`` / ``GetDirectoryNameOfFileAbove``
idioms. Anything else is left out of the context, and the evaluation reports it as unread.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Final

from hatch_meadow.msbuild_events import PROJECT, BuildContext, SourceFile, parse_source

PROPS: Final = "Directory.Build.props"
TARGETS: Final = "Directory.Build.targets"
#: Larger files are not read (a Directory.Build.props is a few kilobytes).
MAX_SOURCE_BYTES: Final = 4 << 20
#: Import chains deeper than this are not followed.
MAX_IMPORTS: Final = 64
_THIS_DIR: Final = re.compile(r"\$\(\s*MSBuildThisFileDirectory\s*\)", re.IGNORECASE)
_PROJECT_DIR: Final = re.compile(r"\$\(\s*MSBuildProjectDirectory\s*\)", re.IGNORECASE)
_FILE_ABOVE: Final = re.compile(
    r"^\$\(\s*\[MSBuild\]::GetPathOfFileAbove\(\s*'?([^',()]+?)'?\s*,\s*'?(.*?)'?\s*\)\s*\)$", re.IGNORECASE)
_DIR_ABOVE: Final = re.compile(
    r"^\$\(\s*\[MSBuild\]::GetDirectoryNameOfFileAbove\(\s*'?(.*?)'?\s*,\s*'?([^',()]+?)'?\s*\)\s*\)"
    r"[\\/]+(.+)$", re.IGNORECASE)


def nearest_above(folder: Path, name: str) -> Path | None:
    """The file called ``name`` in ``folder`` or the closest folder above it, as MSBuild searches."""
    for candidate in (folder, *folder.parents):
        path = candidate / name
        if path.is_file():
            return path
    return None


def resolve_import(project: str, importer_dir: Path, project_dir: Path) -> Path | None:
    """The file an ``<Import Project=…>`` names, or None if its path cannot be worked out."""
    text = project.strip()
    for pattern, above in ((_FILE_ABOVE, True), (_DIR_ABOVE, False)):
        match = pattern.match(text)
        if match is None:
            continue
        file, start = (match.group(1), match.group(2)) if above else (match.group(2), match.group(1))
        start_dir = _literal_path(start, importer_dir, project_dir)
        if start_dir is None or "$(" in file:
            return None
        found = nearest_above(start_dir, file.strip())
        if found is None or above:
            return found
        return _literal_path(match.group(3), found.parent, project_dir)
    return _literal_path(text, importer_dir, project_dir)


def _literal_path(text: str, importer_dir: Path, project_dir: Path) -> Path | None:
    text = _PROJECT_DIR.sub(lambda _: f"{project_dir}/", _THIS_DIR.sub(lambda _: f"{importer_dir}/", text.strip()))
    if not text or any(c in text for c in "$@%*?;"):
        return None  # other properties, items, wildcards or several files: not followed
    path = Path(text.replace("\\", "/"))
    return Path(os.path.normpath(path if path.is_absolute() else importer_dir / path))


def _read(path: Path, project_dir: Path, shown_dir: str) -> SourceFile | None:
    """The file's bytes, named as the user names the project: relative to the same place."""
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    name = os.path.normpath(os.path.join(shown_dir, os.path.relpath(path, project_dir)))
    return SourceFile(Path(name).as_posix(), data)


def load_build_context(csproj: Path, project_data: bytes) -> BuildContext:
    """The Directory.Build files around ``csproj`` and every import hatch-meadow can follow.

    Files are named relative to where ``csproj`` is, as given (``App/App.csproj`` finds ``Directory.Build.props``
    one folder up; an absolute ``csproj`` gives absolute names), so messages read like the user's paths.

    Never raises: a file that cannot be read or parsed is left out (the evaluation then reports the
    import as unread, and ``dotnet build`` would report the broken file itself).
    """
    project_dir = Path(os.path.abspath(csproj)).parent
    shown_dir = os.path.dirname(str(csproj))
    props_path = nearest_above(project_dir, PROPS)
    targets_path = nearest_above(project_dir, TARGETS)
    props = _read(props_path, project_dir, shown_dir) if props_path else None
    targets = _read(targets_path, project_dir, shown_dir) if targets_path else None
    imports: dict[tuple[str, str], SourceFile | None] = {}
    # Parsing the project again only pays when it imports something (NUL bytes: UTF-16, look anyway).
    follow = b"Import" in project_data or b"\x00" in project_data
    queue: list[tuple[str, bytes, Path]] = [(PROJECT, project_data, project_dir)] if follow else []
    queue += [(s.name, s.data, p.parent) for s, p in ((props, props_path), (targets, targets_path)) if s and p]
    seen = {os.path.normcase(str(p)) for p in (props_path, targets_path) if p}
    while queue and len(imports) < MAX_IMPORTS:
        key, data, folder = queue.pop(0)
        root = parse_source(data)
        if root is None:
            continue
        for element in root.iter("{*}Import", "Import"):
            attribute = element.get("Project")
            if element.get("Sdk") or not attribute or (key, attribute) in imports:
                continue
            path = resolve_import(attribute, folder, project_dir)
            if path is None:
                continue
            source = _read(path, project_dir, shown_dir) if path.is_file() else None
            if source is None and path.exists():
                continue  # unreadable: reported as unread
            imports[(key, attribute)] = source
            if source is not None and os.path.normcase(str(path)) not in seen:
                seen.add(os.path.normcase(str(path)))
                queue.append((source.name, source.data, path.parent))
    return BuildContext(props=props, targets=targets, imports=imports)



def context_fingerprint(context: BuildContext) -> str:
    """A hash of every file in ``context`` (names and bytes), for callers that cache a patch decision.

    A cached "the csproj is up to date" is only valid while these files are unchanged too: turning
    default items off in Directory.Build.props changes the right item form without touching the csproj.
    """
    digest = hashlib.sha256()
    files = [context.props, context.targets, *context.imports.values()]
    for source in files:
        digest.update(b"-" if source is None else source.name.encode() + b"\0" + hashlib.sha256(source.data).digest())
    return digest.hexdigest()
