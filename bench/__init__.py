"""Benchmarks: ``make bench`` (``BENCH_QUICK=1`` for smaller sizes). Each figure is
measured beside its baseline, on the same servers, in the same run."""
