"""``python -m coronabot``: the operator command line."""

import sys

from .cli import main

sys.exit(main())
