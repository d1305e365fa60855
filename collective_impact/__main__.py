"""``python -m collective_impact`` is the ``collective-impact`` command."""

import sys

from collective_impact.experiments.cli import main

sys.exit(main())
