"""Benchmarks and simulations (python -m bench.cohort)."""
