"""Hatchling plugin registration. Import-light on purpose: hatchling imports every module registered
under the ``hatch`` entry-point group for every build that uses any third-party hook, so a slow or
failing import here would break unrelated builds on the machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatchling.plugin import hookimpl

if TYPE_CHECKING:
    from hatch_meadow.plugin import MeadowBuildHook


@hookimpl
def hatch_register_build_hook() -> type[MeadowBuildHook]:
    """Register the ``meadow`` build hook (imported only when hatchling asks for it)."""
    from hatch_meadow.plugin import MeadowBuildHook

    return MeadowBuildHook
