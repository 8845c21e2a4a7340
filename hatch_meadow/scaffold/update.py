"""``update_project``: bring a project to a newer template (copier's 3-way merge, or a re-render)."""

from __future__ import annotations

import contextlib
import difflib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from hatch_meadow import __version__
from hatch_meadow.errors import TemplateError

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        pass
    else:
        pass
from hatch_meadow.scaffold.answers import (
    _question_answers,
    _raise_for,
    _user_answers,
    check_answers,
    encode_answers,
    load_answers,
)
from hatch_meadow.scaffold.constants import (
    _MERGE_MARKER,
    ANSWERS_FILE,
    BASELINE_KEY,
    CONFLICT_SUFFIX,
    GIT_TIMEOUT_S,
    PACKAGED_SOURCE,
    VERSION_KEY,
    Action,
    UpdateMode,
)
from hatch_meadow.scaffold.files import _baseline, _normalized, _read, _tree, _write_file, digest
from hatch_meadow.scaffold.template import _copier_errors, _render, require_copier, template_dir

# --- update ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file ``update_project`` writes (``after``) or deletes (``after is None``)."""

    path: str
    action: Action
    detail: str
    before: bytes | None
    after: bytes | None
    #: For a ``<file>.new`` conflict: your ``<file>``, which the diff compares the template's version with.
    yours: bytes | None = None

    def diff(self) -> str:
        """A unified diff of this change (for a conflict: your file against the template's version)."""
        before: bytes | None = self.before
        fromfile = "/dev/null" if self.before is None else f"a/{self.path}"
        if self.yours is not None:
            before, fromfile = self.yours, f"a/{self.path.removesuffix(CONFLICT_SUFFIX)}"
        old = (before or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = (self.after or b"").decode("utf-8", "replace").splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, fromfile=fromfile,
                                     tofile="/dev/null" if self.after is None else f"b/{self.path}")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What ``update_project`` found, and whether it wrote it."""

    dest: Path
    mode: UpdateMode
    template: str
    from_version: str | None
    to_version: str
    changes: tuple[FileChange, ...]
    notes: tuple[str, ...] = ()
    diff: str = ""
    applied: bool = False
    conflicts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary, the diff included."""
        return {"ok": True, "dest": str(self.dest), "mode": self.mode, "template": self.template,
                "from_version": self.from_version, "to_version": self.to_version, "applied": self.applied,
                "changes": [{"path": c.path, "action": c.action, "detail": c.detail} for c in self.changes],
                "conflicts": list(self.conflicts), "notes": list(self.notes), "diff": self.diff}


def _git(*args: str, cwd: Path | None = None, check: bool = True) -> str | None:
    """Run git; its stdout, or None (``check=False``) when it fails, is missing or times out."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "hatch-meadow",
           "GIT_AUTHOR_EMAIL": "hatch-meadow@localhost", "GIT_COMMITTER_NAME": "hatch-meadow",
           "GIT_COMMITTER_EMAIL": "hatch-meadow@localhost"}
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        if check:
            raise TemplateError(f"git {args[0]} failed: {exc}", hint="check that git is installed") from exc
        return None
    if proc.returncode != 0:
        if check:
            raise TemplateError(f"git {' '.join(args[:2])} failed: {proc.stderr.strip()}",
                                hint="nothing was written to the project")
        return None
    return proc.stdout


def _git_url(src: str) -> str | None:
    """The URL git can fetch for a copier template source, or None if it is not a git source."""
    for prefix, base in (("gh:", "https://github.com/"), ("gl:", "https://gitlab.com/")):
        if src.startswith(prefix):
            return base + src[len(prefix):].removesuffix(".git") + ".git"
    if src.startswith("git+"):
        return src[4:]
    if src.startswith(("git@", "ssh://", "https://", "http://", "file://")) or src.endswith(".git"):
        return src
    path = Path(src).expanduser()
    if path.is_dir() and (path / ".git").exists():
        return str(path)
    return None


def _remote_tags(url: str) -> list[str] | None:
    out = _git("ls-remote", "--tags", "--refs", url, check=False)
    if out is None:
        return None
    return [line.split("refs/tags/", 1)[1] for line in out.splitlines() if "refs/tags/" in line]




def _plan_rerender(dest: Path, fresh: Mapping[str, bytes], baseline: Mapping[str, str],
                   notes: list[str]) -> list[FileChange]:
    """Three-way per file, with the baseline digest standing in for the old template's file."""
    changes = []
    for rel in sorted(set(fresh) | set(baseline)):
        new, cur, base = fresh.get(rel), _read(dest / rel), baseline.get(rel)
        if new is None:  # the template no longer makes this file
            if cur is not None and base is not None:
                if digest(rel, cur) == base:
                    changes.append(FileChange(rel, "delete", "the template no longer has it", cur, None))
                else:
                    notes.append(f"{rel}: the template no longer has it; kept because you changed it")
            continue
        if cur is None:
            if base is None:
                changes.append(FileChange(rel, "add", "new in the template", None, new))
            else:
                notes.append(f"{rel}: you deleted it; not re-created")
            continue
        if cur == new or _normalized(rel, cur) == _normalized(rel, new):
            continue
        if base is not None and digest(rel, new) == base:
            continue  # only you changed it
        if base is not None and digest(rel, cur) == base:
            detail = "changed in the template"
            if rel.endswith(".csproj") and _normalized(rel, cur) != cur.replace(b"\r\n", b"\n"):
                detail += "; the next build adds the hatch-meadow ItemGroup again"
            changes.append(FileChange(rel, "update", detail, cur, new))
            continue
        side = rel + CONFLICT_SUFFIX
        why = "you and the template both changed it" if base is not None else "it differs and has no baseline"
        changes.append(FileChange(side, "conflict", f"{rel}: {why}; the template's version, to merge by hand",
                                  _read(dest / side), new, yours=cur))
    return changes


def _rerender_update(dest: Path, src: str, stored: Mapping[str, Any], scratch: Path, notes: list[str], *,
                     record_as: str) -> tuple[list[FileChange], bytes, str | None]:
    """Render template ``src`` afresh with the stored answers; the per-file changes, not applied."""
    fresh_dir = _render(src, dest.resolve().name, scratch, _user_answers(stored), defaults=True, vcs_ref=None,
                        notes=notes)
    fresh = _tree(fresh_dir)
    baseline = stored.get(BASELINE_KEY)
    if not isinstance(baseline, dict):
        notes.append(f"{ANSWERS_FILE} has no file digests: every file that differs is treated as a conflict "
                     f"(the template's version goes to <file>{CONFLICT_SUFFIX})")
        baseline = {}
    changes = _plan_rerender(dest, fresh, baseline, notes)
    fresh_answers = load_answers(fresh_dir)
    to_commit = str(fresh_answers.get("_commit") or f"v{__version__}")
    answers_file = encode_answers(fresh_answers, src=record_as, commit=to_commit, baseline=_baseline(fresh))
    return changes, answers_file, _version_of(to_commit)


def _version_of(commit: str | None) -> str | None:
    return commit[1:] if commit and commit.startswith("v") else commit


def _check_not_downgrade(stored: Mapping[str, Any]) -> None:
    from packaging.version import InvalidVersion, Version

    made_by = stored.get(VERSION_KEY)
    with contextlib.suppress(InvalidVersion, TypeError):
        if made_by and Version(str(made_by)) > Version(__version__):
            raise TemplateError(
                f"this project was made by hatch-meadow {made_by}, newer than the installed {__version__}; "
                "nothing was written",
                hint="upgrade hatch-meadow first (pip install -U 'hatch-meadow[new]')",
            )


def _git_update(dest: Path, url: str, old_ref: str, stored: Mapping[str, Any], scratch: Path,
                notes: list[str]) -> tuple[list[FileChange], bytes, str | None]:
    """copier update (3-way merge through git) in a clone of the project; the changes, not applied."""
    from copier import Settings, run_update

    top = Path((_git("rev-parse", "--show-toplevel", cwd=dest) or "").strip())
    sub = dest.resolve().relative_to(top.resolve())
    if (_git("status", "--porcelain", "--", ".", cwd=dest) or "").strip():
        raise TemplateError(f"{dest}: has uncommitted changes, and copier's 3-way merge needs a clean work tree; "
                            "nothing was written", hint="commit or stash them, then run the update again")
    clone = scratch / "clone"
    _git("clone", "--quiet", str(top), str(clone))
    work = clone / sub
    # The clone's answers point at the git template (the project's own may name the packaged one).
    (work / ANSWERS_FILE).write_bytes(
        encode_answers(stored, src=url, commit=old_ref, baseline=stored.get(BASELINE_KEY) or {}))
    _git("commit", "--quiet", "--allow-empty", "-am", "hatch-meadow update: answers for copier", cwd=clone)
    with _copier_errors(notes):
        run_update(work, defaults=True, overwrite=True, quiet=True, unsafe=False, conflict="inline",
                   skip_answered=True, settings=Settings())
    updated = load_answers(work)
    new_ref = updated.get("_commit")
    fresh_dir = _render(url, dest.resolve().name, scratch / "fresh", _user_answers(updated), defaults=True,
                        vcs_ref=str(new_ref) if new_ref else None, notes=notes)
    answers_file = encode_answers(updated, src=url, commit=str(new_ref) if new_ref else None,
                                  baseline=_baseline(_tree(fresh_dir)))
    after = _tree(work)
    tracked = [rel for rel in (_git("ls-files", "-z", cwd=dest) or "").split("\0") if rel and rel != ANSWERS_FILE]
    before = {rel: data for rel in tracked if (data := _read(dest / rel)) is not None}
    changes: list[FileChange] = []
    for rel in sorted(set(after) | set(before)):
        old, new = before.get(rel), after.get(rel)
        if old == new:
            continue
        if new is None:
            changes.append(FileChange(rel, "delete", "the template no longer has it", old, None))
        elif _MERGE_MARKER in new:
            changes.append(FileChange(rel, "conflict", "merged with conflict markers: resolve them by hand", old, new))
        else:
            changes.append(FileChange(rel, "add" if old is None else "update", "merged by copier", old, new))
    return changes, answers_file, _version_of(str(new_ref) if new_ref else None)


def update_project(dest: Path, *, show_diff: bool = True, yes: bool = False,
                   confirm: Callable[[UpdateResult], bool] | None = None,
                   template: str | Path | None = None) -> UpdateResult:
    """Bring a project made by ``render_project`` to the newest template (see the module docstring).

    Args:
        dest: the project folder (it holds ``.copier-answers.yml``).
        show_diff: put the unified diff of every change in the result.
        yes: write the changes without asking.
        confirm: without ``yes``, called with the planned result; write only if it returns True.
            Without both, nothing is written (a dry run).
        template: the newer template (git URL or folder) instead of the recorded one.

    Raises:
        TemplateError: not a rendered project, copier missing, an explicit git template unreachable, a
            dirty work tree for copier's merge, or a project made by a newer hatch-meadow.
    """
    if not dest.is_dir():
        raise TemplateError(f"{dest}: no such folder", hint="give the folder `hatch-meadow new` made")
    stored = load_answers(dest)
    _raise_for(check_answers(_question_answers(stored)))
    require_copier()
    notes: list[str] = []
    recorded = str(stored.get("_src_path") or PACKAGED_SOURCE)
    source = str(template) if template is not None else recorded
    url = _git_url(source) if source != PACKAGED_SOURCE else None
    if template is not None and url is None and not (Path(source) / "copier.yml").is_file():
        raise TemplateError(f"{source}: is neither a git repository nor a folder with a copier.yml; nothing was "
                            "written", hint="give the newer template's git URL or folder")
    old_ref = stored.get("_commit")
    tags = _remote_tags(url) if url else None
    answers_src: str | None = None  # what the answers file records; None: the template actually used
    if url and tags is None:
        if template is not None:
            raise TemplateError(f"the template repository {source} cannot be reached; nothing was written",
                                hint="check the URL and your network, or leave out --template")
        notes.append(f"the template repository {source} cannot be reached; re-rendering from the installed "
                     f"hatch-meadow {__version__} instead")
        url, answers_src = None, recorded
    if url is None and template is None:
        _check_not_downgrade(stored)
    in_git = _git("rev-parse", "--show-toplevel", cwd=dest, check=False) is not None
    with tempfile.TemporaryDirectory(prefix="hatch-meadow-update-") as tmp, \
            (contextlib.nullcontext(Path(source)) if url is None and template is not None else template_dir()) as tdir:
        scratch = Path(tmp)
        if url and tags is not None and old_ref in tags and in_git:
            mode: UpdateMode = "copier-update"
            changes, answers_file, to_version = _git_update(dest, url, str(old_ref), stored, scratch, notes)
            shown = url
        else:
            mode = "re-render"
            if url:
                why = "not a git work tree" if not in_git else f"the repository has no tag {old_ref!r}"
                notes.append(f"copier's 3-way merge is not possible ({why}); comparing file by file instead")
            shown = url or (PACKAGED_SOURCE if template is None else str(template))
            changes, answers_file, to_version = _rerender_update(
                dest, url or str(tdir), stored, scratch, notes, record_as=answers_src or shown)
    current_answers = (dest / ANSWERS_FILE).read_bytes()
    if answers_file != current_answers:
        changes.append(FileChange(ANSWERS_FILE, "update", "answers, template version and file digests",
                                  current_answers, answers_file))
    made_by = _version_of(str(old_ref) if old_ref else None) or stored.get(VERSION_KEY)
    result = UpdateResult(
        dest=dest, mode=mode, template=shown, from_version=str(made_by) if made_by else None,
        to_version=to_version or __version__, changes=tuple(changes), notes=tuple(notes),
        diff="".join(c.diff() for c in changes) if show_diff else "",
        conflicts=tuple(c.path for c in changes if c.action == "conflict"),
    )
    if changes and (yes or (confirm is not None and confirm(result))):
        apply_changes(dest, result.changes)
        result = replace(result, applied=True)
    return result


def apply_changes(dest: Path, changes: tuple[FileChange, ...]) -> None:
    """Write (or delete) every planned file, after checking that none changed since it was planned.

    Raises:
        TemplateError: a file changed in the meantime; nothing was written.
    """
    for change in changes:
        path = dest / PurePosixPath(change.path)
        now = path.read_bytes() if path.is_file() else None
        if now != change.before:
            raise TemplateError(f"{path}: changed while hatch-meadow was working on it; nothing was written",
                                hint="run the update again")
    for change in changes:
        path = dest / PurePosixPath(change.path)
        if change.after is None:
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # leave no empty folder behind; keep non-empty ones
                for parent in path.relative_to(dest).parents:
                    if str(parent) != ".":
                        (dest / parent).rmdir()
        else:
            _write_file(path, change.after)
