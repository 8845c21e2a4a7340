"""New Meadow projects from the copier template shipped in the package, and updates to newer templates.

``render_project`` renders ``templates/meadow-app`` offline (no network, no git needed) into a scratch
folder, checks the final answers, then copies the files into DEST: an error leaves DEST untouched. The
answers go to ``.copier-answers.yml`` together with the hatch-meadow version and a short digest of every
file the template produced (the *baseline*).

``update_project`` brings such a project to a newer template, in one of two modes:

* ``copier-update``: the answers' ``_src_path`` (or ``template=``) is a git repository holding the
  template with release tags, it is reachable, it has the project's ``_commit`` tag, and the project is
  a clean git work tree. copier's own 3-way merge runs in a scratch clone; conflicts get inline markers.
* ``re-render``: otherwise. The newest template (the git one if reachable, else ``template=`` if it is a
  folder, else the installed package's) is rendered with the stored answers and compared with the
  project file by file against the baseline: a file only the template changed is replaced, a file only
  you changed is kept, a file both changed is kept and the template's version written beside it as
  ``<file>.new``. A .csproj is compared without hatch-meadow's ItemGroup, which the next build re-adds.

Both modes compute the full change set and its diff first; nothing is written unless ``yes`` (or the
``confirm`` callback) says so. copier is an optional dependency (``hatch-meadow[new]``), imported only here
and only when needed.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final, Literal

from hatch_meadow import __version__
from hatch_meadow.config import KEY_ENCRYPTIONS, KEY_TYPES, device_id_problem, hub_name_problem
from hatch_meadow.errors import TemplateError

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

TEMPLATE_NAME: Final = "meadow-app"
#: ``_src_path`` of a project rendered from the installed package: not a place copier can reach, so
#: ``hatch-meadow update`` re-renders from whatever hatch-meadow is installed.
PACKAGED_SOURCE: Final = f"hatch-meadow:{TEMPLATE_NAME}"
ANSWERS_FILE: Final = ".copier-answers.yml"
VERSION_KEY: Final = "_hatch_meadow_version"
BASELINE_KEY: Final = "_hatch_meadow_files"
#: Suffix of the template's version of a file that both you and the template changed.
CONFLICT_SUFFIX: Final = ".new"

BOARDS: Final = ("F7FeatherV2", "F7CoreComputeV2", "ProjectLab")
#: The questions of templates/meadow-app/copier.yml, in its order, with their types.
QUESTION_TYPES: Final[Mapping[str, type]] = {
    "project_name": str, "app_name": str, "board": str, "device_id": str, "iot_hub": str,
    "key_type": str, "key_encryption": str, "telemetry_sample": bool, "commit_certificate": bool,
}
MAX_APP_NAME_CHARS: Final = 64
#: Bits of SHA-256 kept per baseline file: enough to notice an edit; not a security property.
DIGEST_HEX_CHARS: Final = 16
#: git is only asked about refs and local clones; a remote that does not answer in this time is unreachable.
GIT_TIMEOUT_S: Final = 30

CSHARP_KEYWORDS: Final = frozenset({
    "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
    "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
    "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
    "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override", "params",
    "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof",
    "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong",
    "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while"
})
#: Windows cannot create files or folders with these names, whatever the extension.
WINDOWS_DEVICE_NAMES: Final = frozenset(
    ["CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))]
)
#: Names the generated app uses itself (assembly App, base class App<>, the namespaces it imports).
TAKEN_APP_NAMES: Final = frozenset({"App", "Meadow", "MQTTnet", "System"})

_CSHARP_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROJECT_NAME: Final = re.compile(r"[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]")
_PLAIN_YAML: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_YAML_WORDS: Final = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})
_MERGE_MARKER: Final = b"<<<<<<< before updating"
_COPIER_VALIDATION: Final = re.compile(r"Validation error for question '(?P<name>\w+)': (?P<why>.*)", re.DOTALL)

Action = Literal["add", "update", "delete", "conflict"]
UpdateMode = Literal["copier-update", "re-render"]


# --- answers ----------------------------------------------------------------------------------------


def _choice_problem(value: str, choices: tuple[str, ...]) -> str | None:
    if value in choices:
        return None
    near = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
    tail = f" (did you mean {near[0]!r}?)" if near else ""
    return f"must be one of {', '.join(choices)}, not {value!r}{tail}"


def app_name_problem(value: str) -> str | None:
    """Why ``value`` cannot name the Meadow app (C# project, folder and namespace), or None."""
    if not _CSHARP_IDENTIFIER.fullmatch(value):
        return f"{value!r} is not a C# identifier (a letter or '_', then letters, digits or '_')"
    if len(value) > MAX_APP_NAME_CHARS:
        return f"must be at most {MAX_APP_NAME_CHARS} characters, not {len(value)}"
    if value in CSHARP_KEYWORDS:
        return f"{value!r} is a C# keyword"
    if value.upper() in WINDOWS_DEVICE_NAMES:
        return f"{value!r} is a reserved device name on Windows, so it cannot name the project's folder and file"
    if value in TAKEN_APP_NAMES:
        return f"{value!r} would clash with a name the app itself uses ({', '.join(sorted(TAKEN_APP_NAMES))})"
    return None


def project_name_problem(value: str) -> str | None:
    """Why ``value`` is not a valid Python project name (PEP 508), or None."""
    if _PROJECT_NAME.fullmatch(value):
        return None
    return (f"{value!r} is not a Python project name (letters, digits, '.', '_', '-', starting and ending "
            "with a letter or digit)")


def scaffold_device_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be the device id of a new project (the one rule of ``config.device_id_problem``)."""
    return device_id_problem(value)


_CHECKS: Final[Mapping[str, Callable[[str], str | None]]] = {
    "project_name": project_name_problem,
    "app_name": app_name_problem,
    "board": lambda v: _choice_problem(v, BOARDS),
    "device_id": scaffold_device_id_problem,
    "iot_hub": hub_name_problem,
    "key_type": lambda v: _choice_problem(v, KEY_TYPES),
    "key_encryption": lambda v: _choice_problem(v, KEY_ENCRYPTIONS),
}


def check_answers(answers: Mapping[str, object]) -> list[str]:
    """Every problem with ``answers`` (any subset of the template's questions), as ``name: why`` lines."""
    problems = []
    for name, value in answers.items():
        wanted = QUESTION_TYPES.get(name)
        if wanted is None:
            problems.append(f"{name}: not a question of the {TEMPLATE_NAME} template "
                            f"(known: {', '.join(QUESTION_TYPES)})")
        elif not isinstance(value, wanted):
            problems.append(f"{name}: must be {'true or false' if wanted is bool else 'a string'}, "
                            f"not {type(value).__name__}")
        elif isinstance(value, str) and (problem := _CHECKS[name](value)):
            problems.append(f"{name}: {problem}")
    return problems


def _raise_for(problems: list[str], *, derived: Collection[str] = (), labels: Mapping[str, str] | None = None) -> None:
    """Raise for ``name: why`` problems, each named as the user gave it (``labels``: question → e.g. a flag)."""
    if not problems:
        return
    names = [p.split(":", 1)[0] for p in problems]
    shown_names = [(labels or {}).get(n, n) for n in names]
    shown = [label + ":" + p.split(":", 1)[1] + (" (not given, so derived from the folder name)" if n in derived
                                                else "")
             for p, n, label in zip(problems, names, shown_names, strict=True)]
    raise TemplateError(f"invalid answers for the {TEMPLATE_NAME} template: " + "; ".join(shown)
                        + ". Nothing was written.",
                        hint=f"give a valid {', '.join(shown_names)} (`hatch-meadow new --help` lists the options)")


# --- the template and copier ---------------------------------------------------------------------------


@contextlib.contextmanager
def template_dir() -> Iterator[Path]:
    """The packaged template folder (``hatch_meadow/templates/meadow-app`` in a wheel).

    An editable install or a source checkout has no ``hatch_meadow/templates``: the repository's
    ``templates/`` is used instead.

    Raises:
        TemplateError: neither exists (a broken installation).
    """
    from importlib.resources import files

    # One part per step: Traversable.joinpath takes several parts only from Python 3.11 on.
    packaged = files("hatch_meadow") / "templates" / TEMPLATE_NAME
    if packaged.is_dir():
        if isinstance(packaged, Path):  # an installed package on disk: use it in place
            yield packaged
            return
        # A package imported from a zip file: copy the template out. (importlib.resources.as_file
        # accepts a folder only from Python 3.12 on.)
        with tempfile.TemporaryDirectory(prefix="hatch-meadow-template-") as scratch:
            target = Path(scratch) / TEMPLATE_NAME
            _copy_traversable(packaged, target)
            yield target
            return
    checkout = Path(__file__).resolve().parent.parent / "templates" / TEMPLATE_NAME
    if (checkout / "copier.yml").is_file():
        yield checkout
        return
    raise TemplateError(f"the {TEMPLATE_NAME} template is missing from this hatch-meadow installation",
                        hint="reinstall hatch-meadow (pip install --force-reinstall 'hatch-meadow[new]')")


def _copy_traversable(source: Traversable, target: Path) -> None:
    """Copy a resource folder (any Traversable, e.g. inside a zip file) to ``target``, recursively."""
    target.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.is_dir():
            _copy_traversable(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())


def require_copier() -> None:
    """Raise TemplateError unless copier can be imported.

    Raises:
        TemplateError: saying exactly what to install.
    """
    try:
        import copier  # noqa: F401 - availability check only
    except ImportError as exc:
        raise TemplateError(
            "`hatch-meadow new` and `hatch-meadow update` need copier, which is not installed in this "
            "environment; nothing was written",
            hint="pip install 'hatch-meadow[new]'   (or: pip install 'copier>=9')",
        ) from exc


@contextlib.contextmanager
def _copier_errors(notes: list[str], *, derived: Collection[str] = ()) -> Iterator[None]:
    """Turn copier's exceptions into TemplateError, and its warnings into notes."""
    from copier.errors import CopierError, CopierWarning, InteractiveSessionError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except InteractiveSessionError as exc:
            raise TemplateError("copier needs a terminal to ask its questions; nothing was written",
                                hint="pass --defaults (and the answers as options) when not in a terminal") from exc
        except KeyboardInterrupt:  # copier's CopierAnswersInterrupt too: Ctrl-C stays Ctrl-C
            raise
        except ValueError as exc:  # a validator of copier.yml refused an answer (given, typed or derived)
            found = _COPIER_VALIDATION.match(str(exc))
            if found is None:
                raise TemplateError(f"{exc}; nothing was written", hint="see `hatch-meadow new --help`") from exc
            _raise_for([f"{found['name']}: {found['why']}"], derived=derived)
        except CopierError as exc:
            raise TemplateError(f"copier failed: {exc}", hint="nothing was written to the project") from exc
    notes.extend(str(w.message) for w in caught if issubclass(w.category, CopierWarning))


def _render(src: str, dest_name: str, scratch: Path, data: Mapping[str, object], *, defaults: bool,
            vcs_ref: str | None, notes: list[str]) -> Path:
    """Render template ``src`` with ``data`` into ``scratch/dest_name`` (copier's ``_folder_name``)."""
    from copier import Settings, run_copy

    out = scratch / dest_name
    with _copier_errors(notes, derived=set(QUESTION_TYPES) - set(data)):
        run_copy(src, out, data=dict(data), defaults=defaults, vcs_ref=vcs_ref, quiet=True, unsafe=False,
                 overwrite=True, settings=Settings())
    return out


def load_answers(root: Path) -> dict[str, Any]:
    """The answers file of a rendered project.

    Raises:
        TemplateError: missing or not a YAML mapping.
    """
    import yaml

    path = root / ANSWERS_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TemplateError(f"{root}: has no {ANSWERS_FILE}, so it was not made by `hatch-meadow new`",
                            hint="render a new project with `hatch-meadow new DEST` and move your code over") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path}: cannot read it ({exc})", hint="restore it from version control") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: is not a YAML mapping of answers", hint="restore it from version control")
    return data


def _question_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to this package's template's questions, in question order."""
    return {k: answers[k] for k in QUESTION_TYPES if k in answers}


def _user_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Every answer that is not copier's or hatch-meadow's bookkeeping (a newer template may ask more)."""
    return {k: v for k, v in answers.items() if not k.startswith("_")}


def _yaml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return json.dumps(value)  # JSON is YAML: numbers, lists and mappings stay what they are
    if _PLAIN_YAML.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def encode_answers(answers: Mapping[str, Any], *, src: str, commit: str | None,
                   baseline: Mapping[str, str]) -> bytes:
    """The ``.copier-answers.yml`` hatch-meadow writes: copier's keys, then ours (which copier ignores)."""
    lines = ["# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY",
             "# Written by hatch-meadow; `hatch-meadow update .` brings this project to a newer template."]
    if commit:
        lines.append(f"_commit: {_yaml_scalar(commit)}")
    lines.append(f"_src_path: {_yaml_scalar(src)}")
    lines += [f"{key}: {_yaml_scalar(value)}" for key, value in sorted(_user_answers(answers).items())]
    lines.append(f"{VERSION_KEY}: {_yaml_scalar(__version__)}")
    lines.append(f"{BASELINE_KEY}:")
    lines += [f"  {_yaml_scalar(path)}: {json.dumps(str(digest))}" for path, digest in sorted(baseline.items())]
    return ("\n".join(lines) + "\n").encode()


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


# --- new ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderResult:
    """A project written by :func:`render_project`."""

    dest: Path
    answers: dict[str, Any]
    files: tuple[str, ...]
    template: str

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {"ok": True, "dest": str(self.dest), "template": self.template, "hatch-meadow-version": __version__,
                "answers": self.answers, "files": list(self.files)}


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


def render_project(dest: Path, answers: Mapping[str, object] | None = None, *, force: bool = False,
                   defaults: bool = True, template: str | Path | None = None,
                   labels: Mapping[str, str] | None = None) -> RenderResult:
    """Render the meadow-app template into ``dest`` and record the answers for ``update_project``.

    Args:
        dest: the new project's folder; created if missing; must be empty unless ``force``.
        answers: answers to the template's questions (see ``QUESTION_TYPES``); the rest take their
            defaults (``defaults=True``) or are asked in the terminal (``defaults=False``).
        force: write into a non-empty folder, replacing the files the template renders.
        defaults: never ask; unanswered questions take their defaults.
        template: another copier template (folder or git URL) instead of the packaged one (tests).
        labels: how to name a question in errors (the CLI passes its flags: ``iot_hub`` → ``--hub``).

    Raises:
        TemplateError: DEST unusable, invalid answers, copier missing or failing; nothing is written.
    """
    given = dict(answers or {})
    check_dest(dest, force=force)
    _raise_for(check_answers(given), labels=labels)
    require_copier()
    notes: list[str] = []
    dest_name = dest.resolve().name or "project"
    source = PACKAGED_SOURCE if template is None else str(template)
    with tempfile.TemporaryDirectory(prefix="hatch-meadow-new-") as scratch, \
            (contextlib.nullcontext(source) if template is not None else template_dir()) as src:
        out = _render(str(src), dest_name, Path(scratch), given, defaults=defaults, vcs_ref=None, notes=notes)
        rendered = load_answers(out)
        final = _question_answers(rendered)
        _raise_for(check_answers(final), derived=set(QUESTION_TYPES) - set(given), labels=labels)
        files = _tree(out)
        # A git template has its own release tag; the packaged one is the installed hatch-meadow's version.
        commit = str(rendered.get("_commit") or f"v{__version__}")
        files[ANSWERS_FILE] = encode_answers(rendered, src=source, commit=commit, baseline=_baseline(files))
        _check_overwrite(dest, list(files))
        for rel, data in files.items():
            _write_file(dest / rel, data)
    return RenderResult(dest=dest, answers=final, files=tuple(files), template=source)


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
                "from-version": self.from_version, "to-version": self.to_version, "applied": self.applied,
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


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() and not path.is_symlink() else None


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

