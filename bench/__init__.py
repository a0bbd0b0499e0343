"""Benchmarks of the video pipeline (issue 6): `make bench`, or `python -m bench --help`.

Every figure is measured next to its baseline in the same run and reported as
a ratio (median of several runs, with min–max), because the machine is small,
shared and noisy. A benchmark reports; it never fails on a timing.

Modules: one per measurement (e2e, ladder, messaging, uploads, throughput;
the explorations responsiveness, progress, encoding), `runner` (the CLI),
`table` (the one table), `harness` (the stack, the web and the worker),
`direct` (a user's commands and the worker's own, run by hand without the
system: the baselines), `procfs` (/proc readings), `params` (how much each
mode measures), `worker_argv` (run in the transcoder's venv to print its
commands), `echo_server` and `plain_celery` (the messaging baselines).
"""
