"""`python -m benchmarks`: see run_all.py."""

import sys

from .run_all import main

sys.exit(main())
