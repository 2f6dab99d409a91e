"""Ground Control benchmarks: `python -m bench` (or `make bench`) reproduces docs/benchmarks.md.

Run by hand on an idle machine, never in CI. Every figure is reported next to a baseline
measured in the same run, because shared machines are noisy.
"""
