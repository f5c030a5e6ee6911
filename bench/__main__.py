"""`python -m bench` runs the harness, the same as `bin/flowsync bench`."""

import sys

from bench.run import main

sys.exit(main())
