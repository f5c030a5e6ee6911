"""`python -m flowsync` runs the CLI."""

import sys

from flowsync.cli import main

sys.exit(main())
