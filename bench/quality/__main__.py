"""`python -m bench.quality`: the answer-quality suite (bench/quality/suite.py)."""

from bench.quality.suite import main

if __name__ == "__main__":
    main()
