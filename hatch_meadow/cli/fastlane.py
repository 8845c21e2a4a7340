"""The fast lane for the short commands scripts run in loops (``check``, ``generate``): a well-formed command
line is parsed here and run without importing click (~20 ms of a ~60 ms command).

Only the plain forms are taken: ``--name value``, ``--name=value`` and flags, each option at most once,
values that click would accept as they are. Anything else (``--help``, a bad or repeated option, a value
click would refuse, a ``--project`` or ``--dir`` that fails its check) returns None and the command goes to
click, which gives its usual help or error. The tables below mirror the click declarations in
``cli/check.py`` and ``cli/generate.py``; ``tests/test_fastlane.py`` keeps them equal and compares both paths.
"""

from __future__ import annotations

from pathlib import Path

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs a short command time
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, Final

#: An option: (keyword argument, kind, allowed values). Kinds: "flag", "text", "path", "choice", "days".
Option = tuple[str, str, tuple[str, ...]]
#: Days options (--days, --expires-within) take 1..36500, as click.IntRange(1, 36500).
DAYS_RANGE: Final = (1, 36500)


def _check_options() -> dict[str, Option]:
    from hatch_meadow.creds.vocabulary import PROFILE_NAMES

    return {"--project": ("project", "path", ()), "--dir": ("directory", "path", ()),
            "--profile": ("profile", "choice", PROFILE_NAMES), "--device-id": ("device_id", "text", ()),
            "--strict": ("strict", "flag", ()), "--with-mbedtls": ("with_mbedtls", "flag", ()),
            "--expires-within": ("expires_within", "days", ()), "--json": ("as_json", "flag", ())}


def _generate_options() -> dict[str, Option]:
    from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS, KEY_TYPES

    return {"--project": ("project", "path", ()), "--dir": ("directory", "path", ()),
            "--device-id": ("device_id", "text", ()), "--key-type": ("key_type", "choice", tuple(KEY_TYPES)),
            "--key-encryption": ("key_encryption", "choice", tuple(KEY_ENCRYPTIONS)),
            "--days": ("days", "days", ()), "--passphrase-env": ("passphrase_env", "text", ()),
            "--force": ("force", "flag", ()), "--keep-key": ("keep_key", "flag", ()),
            "--json": ("as_json", "flag", ())}


#: Command → (module, function, its options). The function takes every option as a keyword argument.
COMMANDS: Final[dict[str, tuple[str, str, Callable[[], dict[str, Option]]]]] = {
    "check": ("hatch_meadow.cli.check_run", "run", _check_options),
    "generate": ("hatch_meadow.cli.generate_run", "run", _generate_options),
}


def parse(command: str, args: Sequence[str]) -> dict[str, Any] | None:
    """The keyword arguments click would pass for ``command``'s ``args``, or None to leave them to click."""
    options = COMMANDS[command][2]()
    values: dict[str, Any] = {dest: (False if kind == "flag" else None) for dest, kind, _ in options.values()}
    values["project"] = Path(".")
    seen: set[str] = set()
    index = 0
    while index < len(args):
        name, has_value, value = args[index].partition("=")
        option = options.get(name)
        if option is None or name in seen:
            return None  # not ours (--help, a typo, a repeat): click says what it makes of it
        seen.add(name)
        dest, kind, allowed = option
        index += 1
        if kind == "flag":
            if has_value:
                return None
            values[dest] = True
            continue
        if not has_value:
            if index >= len(args):
                return None
            value = args[index]
            index += 1
        converted = _convert(kind, value, allowed)
        if converted is None:
            return None
        values[dest] = converted
    return values if _paths_ok(values, given=seen) else None


def _convert(kind: str, value: str, allowed: tuple[str, ...]) -> object | None:
    if not value or value.startswith("-"):
        return None  # click's reading of these is click's to give
    if kind == "choice":
        return value if value in allowed else None
    if kind == "days":
        if not (value.isascii() and value.isdigit()):
            return None
        number = int(value)
        return number if DAYS_RANGE[0] <= number <= DAYS_RANGE[1] else None
    return Path(value) if kind == "path" else value


def _paths_ok(values: dict[str, Any], *, given: set[str]) -> bool:
    """The checks click runs on --project (when given) and --dir; a failure, or a path the OS will not even
    look at (too long, no permission), goes to click for its message."""
    from hatch_meadow.cli.paths import credentials_folder_problem, project_folder_problem

    try:
        if "--project" in given and project_folder_problem(values["project"]):
            return False
        return values["directory"] is None or credentials_folder_problem(values["directory"]) is None
    except (OSError, ValueError):
        return False


def run(args: Sequence[str]) -> int | None:
    """Run ``args`` (command first) in the fast lane; None when click must take them.

    Failures end as they do under click (:func:`cli.app.run_click`): a closed pipe exits 1 quietly, Ctrl-C
    (or end of input) is "interrupted", 130, everything else goes to the one error model.
    """
    import os

    if not args or args[0] not in COMMANDS or os.environ.get("_HATCH_MEADOW_COMPLETE"):
        return None  # not ours, or shell completion (click's)
    values: dict[str, Any] | None = None
    try:
        values = parse(args[0], args[1:])
        if values is None:
            return None
        import importlib

        module, function, _ = COMMANDS[args[0]]
        return int(getattr(importlib.import_module(module), function)(**values) or 0)
    except (KeyboardInterrupt, EOFError):
        import sys

        from hatch_meadow.cli.failures import render_failure

        sys.stderr.write("\n")  # as click does before "interrupted"
        return render_failure(KeyboardInterrupt(), as_json=False)
    except BrokenPipeError:
        return _pipe_closed()
    except Exception as exc:  # noqa: BLE001 - the one top-level handler, as in cli.app
        from hatch_meadow.cli.failures import render_failure

        return render_failure(exc, as_json=bool(values and values.get("as_json")))


def _pipe_closed() -> int:
    """The reader of our output went away (`hatch-meadow check | head -1`): exit 1 with nothing more said, as
    click does; what is still buffered goes nowhere."""
    import os
    import sys

    null = open(os.devnull, "w")  # noqa: SIM115 - replaces the streams until the process exits
    sys.stdout, sys.stderr = null, null
    return 1
