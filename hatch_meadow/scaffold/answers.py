"""The template's questions: names, types, the rules each answer must follow, and the answers file."""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from hatch_meadow import __version__
from hatch_meadow.config import hub_name_problem
from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS, KEY_TYPES, device_id_problem
from hatch_meadow.errors import TemplateError

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        pass
    else:
        pass
from hatch_meadow.scaffold.constants import (
    _CSHARP_IDENTIFIER,
    _PLAIN_YAML,
    _PROJECT_NAME,
    _YAML_WORDS,
    ANSWERS_FILE,
    BASELINE_KEY,
    BOARDS,
    CSHARP_KEYWORDS,
    MAX_APP_NAME_CHARS,
    QUESTION_TYPES,
    TAKEN_APP_NAMES,
    TEMPLATE_NAME,
    VERSION_KEY,
    WINDOWS_DEVICE_NAMES,
)

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
