"""``render_project``: a new project from the template, written only when everything checks out."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_meadow import __version__

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        pass
    else:
        pass
from hatch_meadow.scaffold.answers import _question_answers, _raise_for, check_answers, encode_answers, load_answers
from hatch_meadow.scaffold.constants import ANSWERS_FILE, PACKAGED_SOURCE, QUESTION_TYPES
from hatch_meadow.scaffold.files import _baseline, _check_overwrite, _tree, _write_file, check_dest
from hatch_meadow.scaffold.template import _render, require_copier, template_dir

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
        return {"ok": True, "dest": str(self.dest), "template": self.template, "hatch_meadow_version": __version__,
                "answers": self.answers, "files": list(self.files)}





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
