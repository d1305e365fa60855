import sys

from collective_impact.experiments.cli import main

sys.exit(main())
