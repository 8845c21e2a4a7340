"""This machine's state folder: $HATCH_MEADOW_STATE_DIR, else platformdirs' user state folder. On Linux the
folder is computed without importing platformdirs (a short-command cost); it must be the same folder."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from hatch_meadow.userstate import STATE_DIR_ENV, machine_state_dir


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux shortcut")
@pytest.mark.parametrize("xdg", [None, "/tmp/xdg-state", "relative/ignored", ""])
def test_linux_state_folder_is_platformdirs_own(monkeypatch: pytest.MonkeyPatch, xdg: str | None) -> None:
    monkeypatch.delenv(STATE_DIR_ENV, raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", xdg)
    assert machine_state_dir(create=False) == Path(platformdirs.user_state_dir("hatch-meadow", appauthor=False))


def test_override_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "s"))
    assert machine_state_dir(create=True) == tmp_path / "s"
    assert (tmp_path / "s").is_dir()
