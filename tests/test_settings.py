"""The one settings resolver: option > environment > hook table > defaults, and the same device id everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hatch_meadow.config import MeadowConfig
from hatch_meadow.errors import ConfigurationError
from hatch_meadow.settings import resolve_settings

Project = Callable[..., Path]


def test_port_precedence(project: Project) -> None:
    root = project('port = "/dev/ttyACM7"\n')
    assert resolve_settings(root, environ={}).port() == "/dev/ttyACM7"
    assert resolve_settings(root, environ={"HATCH_MEADOW_PORT": "sim://env"}).port() == "sim://env"
    assert resolve_settings(root, environ={"HATCH_MEADOW_PORT": "sim://env"}).port("COM5") == "COM5"
    assert resolve_settings(root.parent, environ={}).port() == MeadowConfig().port  # no project: the default


def test_credentials_folder_precedence(project: Project, tmp_path: Path) -> None:
    root = project('credentials-dir = "secrets"\n')
    settings = resolve_settings(root, environ={})
    assert settings.in_project
    assert settings.credentials_dir() == root.resolve() / "secrets"
    assert settings.credentials_dir(tmp_path / "x") == tmp_path / "x"
    outside = resolve_settings(tmp_path / "nowhere", environ={})
    assert not outside.in_project
    assert outside.credentials_dir() == Path(".")


def test_device_id_defaults_to_the_normalised_project_name_as_in_the_hook(project: Project) -> None:
    root = project(name="My_Meadow.App")
    assert resolve_settings(root, environ={}).config.device_id == "my-meadow-app"


def test_environment_errors_are_reported_like_the_build_reports_them(project: Project) -> None:
    root = project()
    with pytest.raises(ConfigurationError, match="HATCH_MEADOW_DEPLOY"):
        resolve_settings(root, environ={"HATCH_MEADOW_DEPLOY": "maybe"})


def test_the_vocabulary_is_one_list_everywhere() -> None:
    """The option parser, the profiles table and the template's questions use the typed vocabulary's names."""
    from hatch_meadow import config, scaffold
    from hatch_meadow.creds.profiles import PROFILES as PROFILE_TABLE
    from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS, KEY_TYPES, PROFILE_NAMES

    assert config.PROFILES == PROFILE_NAMES == tuple(PROFILE_TABLE)
    assert scaffold.KEY_TYPES == KEY_TYPES
    assert scaffold.KEY_ENCRYPTIONS == KEY_ENCRYPTIONS
