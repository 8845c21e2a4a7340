"""One settings resolver for every CLI command (the hook gets the same options from hatchling).

Precedence, in one place: a command-line option, then the environment (``HATCH_MEADOW_*``, applied by
:func:`~hatch_meadow.config.load_config`), then the project's hook table, then the defaults of
:class:`~hatch_meadow.config.MeadowConfig`. The device id defaults to the project's normalised name
(as hatchling's ``metadata.name``, which the hook uses). Outside a project, the folder is the current
one and the options are the defaults plus the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hatch_meadow.config import MeadowConfig, load_config
from hatch_meadow.project import ProjectLayout


@dataclass(frozen=True, slots=True)
class Settings:
    """What a command works with: the options in force and, inside a project, its layout."""

    config: MeadowConfig
    layout: ProjectLayout | None

    @property
    def in_project(self) -> bool:
        """True inside a folder whose pyproject.toml configures the hook."""
        return self.layout is not None

    def credentials_dir(self, given: Path | None = None) -> Path:
        """``--dir`` if given, else the project's credentials folder, else the current folder."""
        if given is not None:
            return given
        return self.layout.credentials_dir if self.layout is not None else Path(".")

    def port(self, given: str | None = None) -> str:
        """``--port`` if given, else HATCH_MEADOW_PORT, else the project's ``port``, else ``auto``."""
        return given or self.config.port


def resolve_settings(project: Path, *, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings for a command run on ``project`` (validated exactly as the build validates them).

    Raises:
        ConfigurationError / ProjectFileError / InputError: as the build would (exit 2).
    """
    env = dict(os.environ if environ is None else environ)
    if not (project / "pyproject.toml").is_file():
        return Settings(load_config({}, environ=env), None)
    from hatch_meadow.project_check import effective_settings

    config, layout = effective_settings(project.resolve(), environ=env)
    if config is None:  # a pyproject.toml without the hook's table: the defaults, this folder
        return Settings(load_config({}, environ=env), None)
    return Settings(config, layout)
