"""Speed benchmarks: `python -m bench.speed` runs the suite; the narrower ones are its modules."""
