"""``python -m hatch_meadow`` is the ``hatch-meadow`` command."""

import sys

from hatch_meadow.cli import main

sys.exit(main())
