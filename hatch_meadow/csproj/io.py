"""Reading and writing the csproj file: size and permission checks, atomic writes, the public entry points."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from hatch_meadow.atomicfile import ownership_problem, save_atomic
from hatch_meadow.csproj.plan import plan_clean, plan_patch
from hatch_meadow.csproj.result import MAX_PROJECT_BYTES, PatchResult
from hatch_meadow.errors import ProjectFileError
from hatch_meadow.project import credential_paths


def _read_project(path: Path) -> tuple[Path, bytes]:
    shown = str(path)
    if not path.exists():
        raise ProjectFileError(f"{shown}: no such file", hint="check the `csproj` option or the path you gave")
    if path.is_dir():
        raise ProjectFileError(
            f"{shown}: is a directory, not a .csproj file",
            hint="point `csproj` at the project file inside it, e.g. MeadowApp/MeadowApp.csproj",
        )
    real = path.resolve()
    if not real.is_file():
        raise ProjectFileError(f"{shown}: is not a regular file", hint="point `csproj` at the project file")
    if real.stat().st_size > MAX_PROJECT_BYTES:
        raise ProjectFileError(f"{shown}: is {real.stat().st_size} bytes, too large for a project file",
                               hint="point `csproj` at the app's .csproj")
    try:
        data = real.read_bytes()
    except OSError as exc:
        raise ProjectFileError(f"{shown}: cannot read it ({exc.strerror})",
                               hint="check the file's permissions") from exc
    return real, data


def check_writable(real: Path, shown: str) -> None:
    """Raise ProjectFileError unless ``real`` can be replaced (see the module docstring)."""
    # Checked only when a change is due: a read-only csproj that is already right is fine. Mode bits
    # as well as access(): root may write anything, but a 0444 file says "do not edit me".
    info = real.stat()
    mode = info.st_mode
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(real, os.W_OK):
        raise ProjectFileError(
            f"{shown}: is read-only, so hatch-meadow cannot add the credential items",
            hint=f"make it writable (chmod u+w {shown}; check it out for edit in your VCS) "
            "or set patch-csproj = false",
        )
    if not os.access(real.parent, os.W_OK):
        raise ProjectFileError(f"{shown}: its folder is not writable, so the file cannot be replaced safely",
                               hint="fix the folder's permissions or set patch-csproj = false")
    problem = ownership_problem(info)
    if problem is not None:
        raise ProjectFileError(f"{shown}: {problem}; nothing was written",
                               hint="run the build as the file's owner, have them run `hatch-meadow patch-csproj`, "
                               "or set patch-csproj = false")


def _write(result: PatchResult, real: Path) -> PatchResult:
    if not result.changed:
        return result
    check_writable(real, result.path)
    info = real.stat()
    try:
        save_atomic(real, result.patched, mode=stat.S_IMODE(info.st_mode), owner=(info.st_uid, info.st_gid))
    except OSError as exc:
        raise ProjectFileError(f"{result.path}: cannot write it ({exc.strerror}); the file is unchanged",
                               hint="check free disk space and permissions") from exc
    return replace(result, written=True)


def ensure_csproj(
    path: Path,
    files: Sequence[str] | None = None,
    *,
    mode: str = "Always",
    condition: str | None = None,
    credentials_dir: Path | None = None,
    dry_run: bool = False,
) -> PatchResult:
    """Make ``path`` copy the credential files to its build output; write only if something changes.

    Args:
        path: the .csproj (a symlink is followed; the target is rewritten).
        files: csproj-relative paths; default: the three credential files in ``credentials_dir``.
        mode: ``Always`` or ``PreserveNewest``.
        condition: optional MSBuild condition on the managed ItemGroup.
        credentials_dir: where the credential files live (default: the csproj's folder).
        dry_run: plan only; never write.

    Raises:
        ProjectFileError: the file is missing, a directory, unreadable, read-only, malformed, or
            removes a credential file; it is left untouched.
    """
    real, data = _read_project(path)
    if files is None:
        files, outside = credential_paths(path, credentials_dir or path.parent)
    else:
        outside = [f for f in files if Path(f).as_posix().startswith("../")]
    from hatch_meadow.msbuild_context import load_build_context

    result = plan_patch(data, files, mode=mode, condition=condition, name=str(path), outside=outside,
                        context=load_build_context(path, data))
    return result if dry_run else _write(result, real)


def apply_patch(path: Path, result: PatchResult) -> PatchResult:
    """Write a result planned earlier by ``ensure_csproj(..., dry_run=True)``.

    Raises:
        ProjectFileError: the file changed since it was planned, or cannot be written.
    """
    real, data = _read_project(path)
    if data != result.original:
        raise ProjectFileError(f"{path}: changed while hatch-meadow was working on it; nothing was written",
                               hint="run the build again")
    return _write(result, real)


def clean_csproj(path: Path, *, dry_run: bool = False) -> PatchResult:
    """Remove hatch-meadow's ItemGroup from ``path``; items we fixed in place stay as they are.

    Raises:
        ProjectFileError: as for :func:`ensure_csproj`.
    """
    real, data = _read_project(path)
    result = plan_clean(data, name=str(path))
    return result if dry_run else _write(result, real)
