"""Reliability benchmarks (`make bench-reliability`): fuzzing, load, crash safety, hostile documents."""
