"""``python -m coronabot``: the operator command line."""

import sys

from coronabot.cli import main

sys.exit(main())
