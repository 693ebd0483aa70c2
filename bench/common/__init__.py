"""Shared by the benchmarks: data loading, metrics, the indexing harness, the embedding cache, reports, stats."""
