"""Run the command-line interface as ``python -m projectapi``."""

import sys

from projectapi.cli import main

sys.exit(main())
