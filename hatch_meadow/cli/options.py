"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

F = TypeVar("F", bound=Callable[..., Any])


def _project_folder(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """A ``--project`` the user typed must be a project: a mistyped folder is an error, never "no project"."""
    if ctx.get_parameter_source(param.name or "project") is ParameterSource.DEFAULT:
        return value  # the current folder: a project if it has a pyproject.toml, else none
    if value.exists() and not value.is_dir():
        raise click.BadParameter(f"{value}: is a file; give the folder that holds pyproject.toml", ctx, param)
    if not value.is_dir():
        raise click.BadParameter(f"{value}: no such folder (mistyped?); give the folder that holds pyproject.toml",
                                 ctx, param)
    if not (value / "pyproject.toml").is_file():
        raise click.BadParameter(f"{value}: no pyproject.toml in that folder; give the folder that holds it (or "
                                 "leave --project out and use --dir for a credentials folder)", ctx, param)
    return value


def project_option(help_text: str = "The folder holding pyproject.toml (default: the current folder, which may "
                   "be no project).") -> Callable[[F], F]:
    """``--project DIR``: checked when given (exit 2 for a mistyped or non-project folder)."""
    return click.option("--project", "project", type=click.Path(path_type=Path), default=Path("."),
                        show_default=True, callback=_project_folder, help=help_text)


def _credentials_folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """``--dir`` names a folder (it may not exist yet); a file there is the tool's own one-line error."""
    if value is not None and value.exists() and not value.is_dir():
        raise click.BadParameter(f"{value}: is a file; --dir takes the folder that holds client_cert.pem, "
                                 "private_key.pem and private_key_pass.txt", ctx, param)
    return value


def dir_option(help_text: str) -> Callable[[F], F]:
    """``--dir DIR``: the credentials folder (checked: a file there is exit 2 with our message)."""
    return click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
                        callback=_credentials_folder, help=help_text)
