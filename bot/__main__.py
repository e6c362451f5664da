"""`python -m bot`: the same command line as `anxin`."""

import sys

from .cli import main

sys.exit(main())
