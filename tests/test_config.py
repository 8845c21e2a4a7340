"""The config model: every option's message, several errors at once, reserved keys, env overrides."""

from __future__ import annotations

import pytest

from hatch_meadow.config import OPTION_NAMES, MeadowConfig, hook_table_path, load_config
from hatch_meadow.errors import ConfigurationError

WHERE = "tool.hatch.build.hooks.meadow"


def errors_of(raw: dict[str, object], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        load_config(raw, WHERE, environ=environ or {})
    assert info.value.exit_code == 2
    return info.value.errors


def test_config_defaults_match_the_contract() -> None:
    """An empty table gives the documented defaults."""
    config = load_config({}, WHERE, environ={})
    assert config == MeadowConfig()
    assert config.to_json() == {
        "csproj": None, "credentials_dir": None, "credentials": "generate", "device_id": None,
        "key_type": "rsa-2048", "key_encryption": "aes-256", "passphrase_env": "HATCH_MEADOW_KEY_PASSPHRASE",
        "validity_days": 365, "renew_before_days": 30, "profile": "meadow-f7", "patch_csproj": True,
        "copy_mode": "Always", "csproj_condition": None, "deploy": False, "port": "auto", "deploy_files": [],
        "output_dir": None, "reboot": True, "listen_seconds": 0, "ready_pattern": None, "strict": False,
        "allow_outside_project": False, "skip": False,
    }


def test_config_accepts_every_option() -> None:
    """A table setting every option loads into the dataclass field by field."""
    raw: dict[str, object] = {
        "csproj": "App/App.csproj", "credentials-dir": "secrets", "credentials": "validate",
        "device-id": "dev-001", "key-type": "ec-p384", "key-encryption": "des3", "passphrase-env": "MY_PASS",
        "validity-days": 730, "renew-before-days": 60, "profile": "portable", "patch-csproj": False,
        "copy-mode": "PreserveNewest", "csproj-condition": "'$(Configuration)' == 'Debug'", "deploy": True,
        "port": "/dev/ttyACM0", "deploy-files": ["extra.txt"], "output-dir": "bin/Debug", "reboot": False,
        "strict": True, "allow-outside-project": True, "listen-seconds": 15, "ready-pattern": "connected",
    }
    assert set(raw) == set(OPTION_NAMES)
    config = load_config(raw, WHERE, environ={})
    assert config.key_type == "ec-p384"
    assert config.deploy_files == ("extra.txt",)
    assert config.csproj_condition == "'$(Configuration)' == 'Debug'"
    assert config.validity_days == 730
    assert config.strict is True
    assert config.allow_outside_project is True
    assert config.listen_seconds == 15
    assert config.ready_pattern == "connected"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("csproj", 3, "must be a string, not an integer"),
        ("csproj", "App/App.vbproj", "must be the path of a .csproj file, not 'App/App.vbproj'"),
        ("credentials-dir", "", "must not be empty"),
        ("ready-pattern", "([a-z", "is not a valid regular expression (unterminated character set at position 1)"),
        ("listen-seconds", 601, "must be between 0 and 600, not 601"),
        ("credentials", "make", "must be one of generate, validate, off; not 'make'"),
        ("device-id", "dev 001", "contains ' ', which Azure IoT Hub does not allow in a device id "
                                 "(letters, digits and - . + % _ # * ? ! ( ) , : = @ $ ' only)"),
        ("device-id", "x" * 65, "must be at most 64 characters, not 65: it is also the certificate's CN, which "
         "X.509 limits to 64 (Azure itself allows 128)"),
        ("key-type", "rsa2048", "must be one of rsa-2048, rsa-3072, rsa-4096, ec-p256, ec-p384; not 'rsa2048' "
                                 "(did you mean 'rsa-2048'?)"),
        ("key-encryption", "aes", "must be one of aes-256, des3, none; not 'aes' (did you mean 'aes-256'?)"),
        ("passphrase-env", "MY-PASS", "must be an environment variable name (letters, digits, _), not 'MY-PASS'"),
        ("validity-days", "365", "must be an integer, not a string"),
        ("validity-days", 0, "must be between 1 and 36500, not 0"),
        ("validity-days", True, "must be an integer, not a boolean"),
        ("renew-before-days", -1, "must be between 0 and 36500, not -1"),
        ("profile", "esp-idf", "must be one of meadow-f7, mbedtls-2.28, mbedtls-3.6, portable; not 'esp-idf'"),
        ("patch-csproj", "yes", "must be true or false, not a string"),
        ("copy-mode", "always", "must be one of Always, PreserveNewest; not 'always' (did you mean 'Always'?)"),
        ("csproj-condition", 1.5, "must be a string, not a float"),
        ("deploy", 1, "must be true or false, not an integer"),
        ("port", ["COM3"], "must be a string, not an array"),
        ("deploy-files", "a.txt", "must be an array of strings, not a string"),
        ("deploy-files", ["a.txt", 2], "item #2 must be a non-empty string, not an integer"),
        ("output-dir", {"x": 1}, "must be a string, not a table"),
        ("reboot", None, "must be true or false, not nothing"),
        ("strict", "false", "must be true or false, not a string"),
    ],
)
def test_config_rejects_bad_value_with_toml_path(key: str, value: object, message: str) -> None:
    """Each option's bad value is reported with its full TOML path and what is wrong."""
    assert errors_of({key: value}) == [f"{WHERE}.{key}: {message}"]


def test_config_reports_every_error_at_once() -> None:
    """Several problems, unknown keys included, come back together in one error."""
    errors = errors_of({"key-type": "dsa", "kee-type": "rsa-2048", "deploy": "no", "validity-days": -5})
    assert errors == [
        f"{WHERE}.deploy: must be true or false, not a string",
        f"{WHERE}.kee-type: unknown option (did you mean 'key-type'?)",
        f"{WHERE}.key-type: must be one of rsa-2048, rsa-3072, rsa-4096, ec-p256, ec-p384; not 'dsa'",
        f"{WHERE}.validity-days: must be between 1 and 36500, not -5",
    ]


def test_config_unknown_option_without_close_match_lists_known_options() -> None:
    """An unknown key far from any option lists the known options."""
    (error,) = errors_of({"zzz": 1})
    assert error.startswith(f"{WHERE}.zzz: unknown option; known options: csproj, credentials-dir,")


def test_config_skips_hatchling_reserved_keys() -> None:
    """Hatchling's own per-hook keys are not ours to reject."""
    config = load_config(
        {"dependencies": ["x"], "require-runtime-dependencies": True, "require-runtime-features": ["a"],
         "enable-by-default": False},
        WHERE, environ={},
    )
    assert config == MeadowConfig()


def test_config_renew_before_must_be_shorter_than_validity() -> None:
    """A renewal window as long as the validity is a contradiction."""
    assert errors_of({"validity-days": 30, "renew-before-days": 30}) == [
        f"{WHERE}.renew-before-days: must be less than validity-days (30), not 30; "
        "otherwise every certificate is due for renewal the day it is made"
    ]


def test_config_env_overrides_apply() -> None:
    """HATCH_MEADOW_* variables override the table."""
    config = load_config(
        {"deploy": False, "port": "COM3"}, WHERE,
        environ={"HATCH_MEADOW_DEPLOY": "1", "HATCH_MEADOW_STRICT": "true", "HATCH_MEADOW_PORT": "sim://",
                 "HATCH_MEADOW_SKIP": "0"},
    )
    assert (config.deploy, config.strict, config.port, config.skip) == (True, True, "sim://", False)


def test_config_bad_env_value_names_the_variable() -> None:
    """An unreadable boolean in the environment is an error naming the variable."""
    assert errors_of({}, {"HATCH_MEADOW_DEPLOY": "maybe"}) == [
        "HATCH_MEADOW_DEPLOY='maybe': must be 1, true, yes, on or 0, false, no, off"
    ]


@pytest.mark.parametrize(
    ("target", "hatch_toml", "expected"),
    [
        (None, False, "tool.hatch.build.hooks.meadow"),
        ("wheel", False, "tool.hatch.build.targets.wheel.hooks.meadow"),
        (None, True, "build.hooks.meadow"),
        ("wheel", True, "build.targets.wheel.hooks.meadow"),
    ],
)
def test_config_hook_table_path(target: str | None, hatch_toml: bool, expected: str) -> None:
    """Messages name the table where the user wrote the options."""
    assert hook_table_path(target, hatch_toml=hatch_toml) == expected


def test_config_error_render_is_one_paragraph_with_hint() -> None:
    """The rendered error lists the problems and ends with the next step."""
    with pytest.raises(ConfigurationError) as info:
        load_config({"strict": 1}, WHERE, environ={})
    assert info.value.render() == (
        "invalid hatch-meadow configuration:\n"
        f"  - {WHERE}.strict: must be true or false, not an integer\n"
        "hint: fix the options above; `hatch-meadow check` validates them without building"
    )
