"""Benchmarks that print figures (`python -m bench`); every `*_bench.py` module has `main()`."""
