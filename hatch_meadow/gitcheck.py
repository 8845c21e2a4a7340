"""Secrets out of git (issue #16): is the key or the pass file tracked, or not ignored, by the repository
the credentials folder is in? And `hatch-meadow untrack`, which fixes both.

Runs the real ``git`` (bounded); no git on PATH, or a folder outside any repository, is simply nothing
to report. Only the secrets are checked: the certificate is public (a project may commit it on purpose).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hatch_meadow.errors import InputError
from hatch_meadow.findings import Finding, Severity
from hatch_meadow.names import SECRET_FILES

if TYPE_CHECKING:
    import subprocess

GIT_TIMEOUT_S: Final = 10


@dataclass(frozen=True, slots=True)
class GitExposure:
    """Which secret files of a folder git tracks, and which it would add with ``git add .``."""

    top: Path | None  # the repository's work tree (None: no git, or not in a repository)
    tracked: tuple[str, ...] = ()  # paths relative to ``top``
    unignored: tuple[str, ...] = ()
    present: tuple[str, ...] = field(default=())


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str] | None:
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        return None
    try:
        return subprocess.run([git, *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _maybe_in_repository(directory: Path) -> bool:
    """False when no folder from ``directory`` up to the root holds a ``.git`` and no GIT_DIR / GIT_WORK_TREE is
    set: git would find no repository, so `check` outside one runs no git process."""
    if os.environ.get("GIT_DIR") or os.environ.get("GIT_WORK_TREE"):
        return True
    for here in {directory.absolute(), directory.resolve()}:  # git starts from the real path
        if any(os.path.lexists(folder / ".git") for folder in (here, *here.parents)):
            return True
    return False


def git_exposure(directory: Path) -> GitExposure:
    """What git would do with the secrets in ``directory`` (never raises)."""
    if not directory.is_dir() or not _maybe_in_repository(directory):
        return GitExposure(None)
    found = _git(["rev-parse", "--show-toplevel"], directory)
    if found is None or found.returncode != 0:
        return GitExposure(None)
    top = Path(found.stdout.strip())
    rels = []
    for name in SECRET_FILES:
        path = directory / name
        if path.exists() or path.is_symlink():
            try:
                rels.append(path.resolve().relative_to(top.resolve()).as_posix())
            except (ValueError, OSError):
                continue  # resolves outside the repository
    if not rels:
        return GitExposure(top)
    listed = _git(["ls-files", "--", *rels], top)
    tracked = tuple(sorted(set((listed.stdout if listed else "").split("\n")) & set(rels)))
    ignored_run = _git(["check-ignore", "--no-index", "--", *rels], top) if rels else None
    ignored = set((ignored_run.stdout if ignored_run else "").split("\n"))
    unignored = tuple(r for r in rels if r not in ignored and r not in tracked)
    return GitExposure(top, tracked, unignored, tuple(rels))


def git_findings(directory: Path, *, strict: bool = False) -> list[Finding]:
    """Findings for secrets git tracks (the next push publishes them) or would add; warnings, errors under strict."""
    exposure = git_exposure(directory)
    if exposure.top is None:
        return []
    severity: Severity = "error" if strict else "warning"
    findings = []
    if exposure.tracked:
        quoted = " ".join(shlex.quote(p) for p in exposure.tracked)
        findings.append(Finding(
            "secret-tracked-by-git", severity, None,
            f"git tracks {', '.join(exposure.tracked)} in {exposure.top}: the key material is in the history and "
            "the next push publishes it (and any new key you generate)",
            f"`hatch-meadow untrack` (or: cd {shlex.quote(str(exposure.top))} && git rm --cached -- {quoted}, then "
            "add them to .gitignore); treat a key that was ever pushed as compromised: generate a new one"))
    if exposure.unignored:
        findings.append(Finding(
            "secret-not-ignored", severity, None,
            f"git does not ignore {', '.join(exposure.unignored)}: a `git add .` would commit the key material",
            "`hatch-meadow untrack` adds them to the repository's .gitignore"))
    return findings


@dataclass
class UntrackResult:
    """What `untrack` did."""

    top: Path
    untracked: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def untrack(directory: Path) -> UntrackResult:
    """Stop tracking the secrets (``git rm --cached``; the files stay on disk) and ignore them (.gitignore).

    Raises:
        InputError: no git, or ``directory`` is not in a git work tree; a git command failed.
    """
    exposure = git_exposure(directory)
    if exposure.top is None:
        raise InputError(f"{directory}: not inside a git work tree (or git is not installed)",
                         hint="nothing to untrack; run it in the repository that holds the credentials")
    result = UntrackResult(exposure.top)
    if exposure.tracked:
        run = _git(["rm", "--cached", "--quiet", "--", *exposure.tracked], exposure.top)
        if run is None or run.returncode != 0:
            raise InputError(f"git rm --cached failed: {(run.stderr if run else '').strip()}",
                             hint="run it yourself: git rm --cached -- " + " ".join(exposure.tracked))
        result.untracked = list(exposure.tracked)
    to_ignore = [p for p in (*exposure.tracked, *exposure.unignored)]
    if to_ignore:
        _append_gitignore(exposure.top / ".gitignore", to_ignore)
        result.ignored = to_ignore
    return result


def _append_gitignore(path: Path, rels: list[str]) -> None:
    from hatch_meadow.atomicfile import save_atomic

    old = path.read_bytes() if path.is_file() else b""
    lines = old.decode("utf-8", "replace").splitlines()
    new = [f"/{r}" for r in rels if f"/{r}" not in lines and r not in lines]
    if not new:
        return
    sep = b"" if not old or old.endswith(b"\n") else b"\n"
    text = "# hatch-meadow: the private key and its passphrase never belong in git\n" + "\n".join(new) + "\n"
    save_atomic(path, old + sep + text.encode(), mode=0o644)
