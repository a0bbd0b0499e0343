"""Benchmarks of the video pipeline: `make bench`, or `python -m bench --help`.

Every figure is measured next to its baseline in the same run and reported as
a ratio (median of several runs, with min–max), because the machine is small,
shared and noisy. A benchmark reports; it never fails on a timing.

Start with `runner` (the CLI and the list of sections), then `harness` (the
running system) and `direct` (the baselines: the same work by hand); each
section's module says what it measures against what.
"""
