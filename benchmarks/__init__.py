"""Benchmarks: each measures our case and its baseline in the same run (see harness.py)."""
