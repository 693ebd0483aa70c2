"""`python -m bench.speed`: the speed suite (bench/speed/suite.py)."""

import sys

from bench.speed.suite import main

if __name__ == "__main__":
    sys.exit(main())
