"""``python -m hatch_meadow`` is the ``hatch-meadow`` command."""

from hatch_meadow.cli import run

run()
