"""``python -m coronabot_dev``: the development command line."""

import sys

from coronabot_dev.cli import main

sys.exit(main())
