"""The checks behind ``--project`` and ``--dir``, without click (the fast lane for short commands uses them too)."""

from __future__ import annotations

from pathlib import Path


def project_folder_problem(value: Path) -> str | None:
    """Why a ``--project`` the user typed is not a project folder, or None (a mistyped folder is an error)."""
    if value.exists() and not value.is_dir():
        return f"{value}: is a file; give the folder that holds pyproject.toml"
    if not value.is_dir():
        return f"{value}: no such folder (mistyped?); give the folder that holds pyproject.toml"
    if not (value / "pyproject.toml").is_file():
        return (f"{value}: no pyproject.toml in that folder; give the folder that holds it (or leave --project out "
                "and use --dir for a credentials folder)")
    return None


def credentials_folder_problem(value: Path) -> str | None:
    """Why ``--dir`` cannot be a credentials folder (a file is there), or None (it may not exist yet)."""
    if value.exists() and not value.is_dir():
        return (f"{value}: is a file; --dir takes the folder that holds client_cert.pem, private_key.pem and "
                "private_key_pass.txt")
    return None
