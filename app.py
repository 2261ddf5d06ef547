"""``python app.py [--host H] [--port P] [--db PATH]``: serve btrmon (same as ``python -m btrmon serve``).

``create_app(monitor)`` builds the Dash app (use_pages) on one ``Monitor``; tests and
embedding applications call it directly.
"""

import sys

from btrmon.cli import main
from btrmon.server import create_app  # noqa: F401  (re-exported for embedding)

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
