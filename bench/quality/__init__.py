"""Answer-quality benchmarks and tuning: `python -m bench.quality` runs the suite."""
