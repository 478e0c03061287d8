"""Helpers the load test (``tests/load``) and the benchmarks share; not shipped in the wheel."""
