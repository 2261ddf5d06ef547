"""``python -m btrmon``."""

import sys

from btrmon.cli import main

sys.exit(main())
