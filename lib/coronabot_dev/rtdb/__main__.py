"""``python -m coronabot_dev.rtdb --port 9000 [--rules database.rules.json] [--data FILE]``."""

import sys

from .server import main

sys.exit(main())
