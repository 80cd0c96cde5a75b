"""``python -m consistent_nets`` runs the command line."""

import sys

from .cli import main

sys.exit(main())
