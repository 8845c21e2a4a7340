"""Project files: trees, normalised digests (the baseline), destination checks and safe writes."""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_meadow.errors import TemplateError

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        pass
    else:
        pass
from hatch_meadow.scaffold.constants import ANSWERS_FILE, DIGEST_HEX_CHARS

# --- files and digests ---------------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (posix relative path → bytes), without ``.git`` and the answers file."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if ".git" in rel.parts or rel.as_posix() == ANSWERS_FILE or not path.is_file():
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def _normalized(rel: str, data: bytes) -> bytes:
    """What counts as "the same file": LF line endings; a .csproj without hatch-meadow's ItemGroup."""
    if rel.endswith(".csproj"):
        from hatch_meadow.csproj import plan_clean
        from hatch_meadow.errors import ProjectFileError

        with contextlib.suppress(ProjectFileError):
            data = plan_clean(data, name=rel).patched
    return data.replace(b"\r\n", b"\n")


def digest(rel: str, data: bytes) -> str:
    """The baseline digest of a file's normalised content."""
    return hashlib.sha256(_normalized(rel, data)).hexdigest()[:DIGEST_HEX_CHARS]


def _baseline(files: Mapping[str, bytes]) -> dict[str, str]:
    return {rel: digest(rel, data) for rel, data in files.items()}



def _is_empty_dir(path: Path) -> bool:
    # A fresh `git init` leaves only .git: still an empty project.
    return all(entry.name == ".git" for entry in path.iterdir())


def check_dest(dest: Path, *, force: bool) -> None:
    """Refuse a DEST that is a file, or a non-empty folder without ``force``.

    Raises:
        TemplateError: with the reason and what to do.
    """
    if dest.exists() and not dest.is_dir():
        raise TemplateError(f"{dest}: is a file, not a folder; nothing was written",
                            hint="give a new folder name (it is created) or an empty folder")
    if dest.is_dir() and not force and not _is_empty_dir(dest):
        raise TemplateError(f"{dest}: is not empty; nothing was written",
                            hint="give a new or empty folder, or pass --force to write the template's files "
                                 "over it (other files are left alone)")


def _check_overwrite(dest: Path, rels: list[str]) -> None:
    for rel in rels:
        target = dest / rel
        if target.is_symlink():
            raise TemplateError(f"{target}: is a symlink where the template writes a file; nothing was written",
                                hint="replace it by a plain file or move it away, or render into another folder")
        if target.is_dir():
            raise TemplateError(f"{target}: is a folder where the template writes a file; nothing was written",
                                hint="move it away, or render into another folder")
        for parent in target.parents:
            if parent == dest:
                break
            if parent.exists() and not parent.is_dir():
                raise TemplateError(f"{parent}: is a file where the template needs a folder; nothing was written",
                                    hint="move it away, or render into another folder")


def _write_file(path: Path, data: bytes) -> None:
    from hatch_meadow.atomicfile import save_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.is_file() else 0o644
    save_atomic(path, data, mode=mode)



def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() and not path.is_symlink() else None
