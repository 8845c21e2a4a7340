"""The hook's options: one frozen dataclass, validated once, with every error reported together.

Options live in ``[tool.hatch.build.hooks.meadow]`` (every target) or
``[tool.hatch.build.targets.<target>.hooks.meadow]`` (one target). Hatchling hands a hook the target
table *instead of* the global one when both exist: they are not merged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final

from hatch_meadow.creds.vocabulary import (
    DEVICE_ID_PATTERN,
    KEY_ENCRYPTIONS,
    KEY_TYPES,
    PROFILE_NAMES,
    device_id_problem,
)
from hatch_meadow.errors import ConfigurationError
from hatch_meadow.names import PLUGIN_NAME, Env

CREDENTIAL_MODES: Final = ("generate", "validate", "off")
PROFILES: Final = PROFILE_NAMES
COPY_MODES: Final = ("Always", "PreserveNewest")

#: Options that hatchling itself reads from every hook table; they are not ours to reject.
RESERVED_KEYS: Final = frozenset(
    {"dependencies", "require-runtime-dependencies", "require-runtime-features", "enable-by-default"}
)

_ENV_NAME_PATTERN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_VALIDITY_DAYS: Final = 36500  # X.509 allows more, but a century is already a typo.

_TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"0", "false", "no", "off", ""})


def hook_table_path(target: str | None = None, *, hatch_toml: bool = False) -> str:
    """The TOML path of the hook's table, as users see it in their file."""
    prefix = "" if hatch_toml else "tool.hatch."
    middle = f"build.targets.{target}.hooks" if target else "build.hooks"
    return f"{prefix}{middle}.{PLUGIN_NAME}"


@dataclass(frozen=True, slots=True)
class MeadowConfig:
    """Validated options of the ``meadow`` build hook (TOML keys are the kebab-case field names)."""

    csproj: str | None = None
    credentials_dir: str | None = None
    credentials: str = "generate"
    device_id: str | None = None
    key_type: str = "rsa-2048"
    key_encryption: str = "aes-256"
    passphrase_env: str = Env.DEFAULT_PASSPHRASE
    validity_days: int = 365
    renew_before_days: int = 30
    profile: str = "meadow-f7"
    patch_csproj: bool = True
    copy_mode: str = "Always"
    csproj_condition: str | None = None
    deploy: bool = False
    port: str = "auto"
    deploy_files: tuple[str, ...] = ()
    output_dir: str | None = None
    reboot: bool = True
    listen_seconds: int = 0
    ready_pattern: str | None = None
    strict: bool = False
    allow_outside_project: bool = False
    #: Set only by HATCH_MEADOW_SKIP; not a TOML option.
    skip: bool = field(default=False, metadata={"env_only": True})

    def to_json(self) -> dict[str, Any]:
        """The options as a JSON-ready dict, keyed snake_case like every JSON key (``device-id`` → ``device_id``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


_DEFAULTS: Final = MeadowConfig()
OPTION_NAMES: Final = tuple(
    f.name.replace("_", "-") for f in fields(MeadowConfig) if not f.metadata.get("env_only")
)

_Check = Callable[[object], "str | None"]


def text_problem(value: str) -> str | None:
    """Why ``value`` may not reach XML, a shell line or a file name: control characters (C0, DEL, C1) and
    what XML 1.0 forbids (surrogates, U+FFFE, U+FFFF); None if it is clean."""
    for char in value:
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            return (f"contains the control character U+{code:04X}, which cannot go into a csproj, a file name or a "
                    "shell line")
    return None


def _string(value: object) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, not {_type_name(value)}"
    if not value.strip():
        return "must not be empty"
    return text_problem(value)


def _close_match(word: str, choices: tuple[str, ...]) -> str | None:
    import difflib  # only on the error path

    near = difflib.get_close_matches(word, choices, n=1)
    return near[0] if near else None


def _choice(choices: tuple[str, ...]) -> _Check:
    def check(value: object) -> str | None:
        if not isinstance(value, str):
            return f"must be a string, one of {', '.join(choices)}; not {_type_name(value)}"
        if value not in choices:
            near = _close_match(value, choices)
            tail = f" (did you mean {near!r}?)" if near else ""
            return f"must be one of {', '.join(choices)}; not {value!r}{tail}"
        return None

    return check


def _boolean(value: object) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, not {_type_name(value)}"


def _integer(low: int, high: int) -> _Check:
    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, not {_type_name(value)}"
        if not low <= value <= high:
            return f"must be between {low} and {high}, not {value}"
        return None

    return check


def _csproj_path(value: object) -> str | None:
    problem = _string(value)
    if problem is None and not str(value).lower().endswith(".csproj"):
        return f"must be the path of a .csproj file, not {value!r}"
    return problem


def _device_id(value: object) -> str | None:
    problem = _string(value)
    if problem is None and not DEVICE_ID_PATTERN.fullmatch(str(value)):
        return device_id_problem(str(value))
    return problem


_HUB_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{1,48}[A-Za-z0-9]")


def hub_name_problem(value: str) -> str | None:
    """Why Azure would reject ``value`` as an IoT Hub name (``NAME`` or ``NAME.azure-devices.net``), or None."""
    if _HUB_NAME.fullmatch(value.removesuffix(".azure-devices.net")):
        return None
    return f"{value!r} is not an IoT Hub name (3 to 50 letters, digits or '-', not starting or ending with '-')"


def with_default_device_id(config: MeadowConfig, project_name: str | None, where: str = hook_table_path(),
                           ) -> MeadowConfig:
    """``config`` with ``device-id`` defaulted to the project's normalised name (``My_App`` → ``my-app``, as
    hatchling's ``metadata.name``). The one default, for the hook and every command.

    Raises:
        ConfigurationError: the derived id breaks the device-id rule (a project name over 64 characters).
    """
    if config.device_id is not None or not project_name:
        return config
    derived = re.sub(r"[-_.]+", "-", project_name).lower()
    problem = device_id_problem(derived)
    if problem:
        raise ConfigurationError([f"{where}.device-id: not set, and the project name {project_name!r} cannot be the "
                                  f"default device id: it {problem}"], hint="set device-id in the hook's table")
    return replace(config, device_id=derived)


def _env_name(value: object) -> str | None:
    problem = _string(value)
    if problem is None and not _ENV_NAME_PATTERN.fullmatch(str(value)):
        return f"must be an environment variable name (letters, digits, _), not {value!r}"
    return problem


def _regex(value: object) -> str | None:
    problem = _string(value)
    if problem is None:
        try:
            re.compile(str(value))
        except re.error as exc:
            return f"is not a valid regular expression ({exc})"
    return problem


def _string_list(value: object) -> str | None:
    if not isinstance(value, list):
        return f"must be an array of strings, not {_type_name(value)}"
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            return f"item #{index + 1} must be a non-empty string, not {_type_name(item)}"
        if problem := text_problem(item):
            return f"item #{index + 1} {problem}"
    return None


_CHECKS: Final[Mapping[str, _Check]] = {
    "csproj": _csproj_path,
    "credentials-dir": _string,
    "credentials": _choice(CREDENTIAL_MODES),
    "device-id": _device_id,
    "key-type": _choice(KEY_TYPES),
    "key-encryption": _choice(KEY_ENCRYPTIONS),
    "passphrase-env": _env_name,
    "validity-days": _integer(1, MAX_VALIDITY_DAYS),
    "renew-before-days": _integer(0, MAX_VALIDITY_DAYS),
    "profile": _choice(PROFILES),
    "patch-csproj": _boolean,
    "copy-mode": _choice(COPY_MODES),
    "csproj-condition": _string,
    "deploy": _boolean,
    "port": _string,
    "deploy-files": _string_list,
    "output-dir": _string,
    "reboot": _boolean,
    "listen-seconds": _integer(0, 600),
    "ready-pattern": _regex,
    "strict": _boolean,
    "allow-outside-project": _boolean,
}
assert set(_CHECKS) == set(OPTION_NAMES), "every option needs a check"


def load_config(
    raw: Mapping[str, object],
    where: str = hook_table_path(),
    *,
    environ: Mapping[str, str] | None = None,
) -> MeadowConfig:
    """Validate the hook table ``raw`` (plus ``HATCH_MEADOW_*`` overrides) into a :class:`MeadowConfig`.

    Args:
        raw: the hook's table as hatchling passes it (reserved hatchling keys included).
        where: the table's TOML path, used as the prefix of every message.
        environ: the environment to read overrides from (default: ``os.environ``).

    Raises:
        ConfigurationError: listing every problem found, each starting with its TOML path or variable.
    """
    env = os.environ if environ is None else environ
    errors: list[str] = []
    values: dict[str, Any] = {}
    for key in sorted(raw, key=str):
        if key in RESERVED_KEYS:
            continue
        check = _CHECKS.get(key)
        if check is None:
            near = _close_match(str(key), OPTION_NAMES)
            hint = f" (did you mean {near!r}?)" if near else f"; known options: {', '.join(OPTION_NAMES)}"
            errors.append(f"{where}.{key}: unknown option{hint}")
            continue
        value = raw[key]
        problem = check(value)
        if problem:
            errors.append(f"{where}.{key}: {problem}")
            continue
        values[key.replace("-", "_")] = tuple(value) if isinstance(value, list) else value

    validity = values.get("validity_days", _DEFAULTS.validity_days)
    renew = values.get("renew_before_days", _DEFAULTS.renew_before_days)
    if isinstance(validity, int) and isinstance(renew, int) and renew >= validity:
        errors.append(
            f"{where}.renew-before-days: must be less than validity-days ({validity}), not {renew}; "
            "otherwise every certificate is due for renewal the day it is made"
        )

    for name, key in ((Env.SKIP, "skip"), (Env.DEPLOY, "deploy"), (Env.STRICT, "strict")):
        if name in env:
            flag = _env_flag(env[name])
            if flag is None:
                errors.append(f"{name}={env[name]!r}: must be 1, true, yes, on or 0, false, no, off")
            else:
                values[key] = flag
    if env.get(Env.PORT, "").strip():
        values["port"] = env[Env.PORT].strip()

    if errors:
        raise ConfigurationError(
            errors, hint="fix the options above; `hatch-meadow check` validates them without building"
        )
    return MeadowConfig(**values)


def skip_requested(environ: Mapping[str, str]) -> bool:
    """Whether HATCH_MEADOW_SKIP asks to skip the hook (checked before any validation)."""
    return _env_flag(environ.get(Env.SKIP, "")) is True


def _env_flag(text: str) -> bool | None:
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    return None


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", dict: "a table", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)
