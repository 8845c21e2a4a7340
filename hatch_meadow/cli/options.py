"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from hatch_meadow.cli.paths import credentials_folder_problem, project_folder_problem

F = TypeVar("F", bound=Callable[..., Any])


def _project_folder(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """A ``--project`` the user typed must be a project: a mistyped folder is an error, never "no project"."""
    if ctx.get_parameter_source(param.name or "project") is ParameterSource.DEFAULT:
        return value  # the current folder: a project if it has a pyproject.toml, else none
    problem = project_folder_problem(value)
    if problem:
        raise click.BadParameter(problem, ctx, param)
    return value


def project_option(help_text: str = "The folder holding pyproject.toml (default: the current folder, which may "
                   "be no project).") -> Callable[[F], F]:
    """``--project DIR``: checked when given (exit 2 for a mistyped or non-project folder)."""
    return click.option("--project", "project", type=click.Path(path_type=Path), default=Path("."),
                        show_default=True, callback=_project_folder, help=help_text)


def _credentials_folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """``--dir`` names a folder (it may not exist yet); a file there is the tool's own one-line error."""
    problem = None if value is None else credentials_folder_problem(value)
    if problem:
        raise click.BadParameter(problem, ctx, param)
    return value


def dir_option(help_text: str) -> Callable[[F], F]:
    """``--dir DIR``: the credentials folder (checked: a file there is exit 2 with our message)."""
    return click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
                        callback=_credentials_folder, help=help_text)
