"""How much each `make bench` mode measures: `full` is `make bench`, the others
are built from it with `dataclasses.replace`."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Params:
    mode: str
    clip_seconds: float
    clip_size: tuple[int, int]
    lone_repeats: int
    # The long source alone (bench/e2e.py).
    long_clip_seconds: float
    long_repeats: int
    ping_runs: int
    pings_per_run: int
    upload_bytes: int
    upload_repeats: int
    throughput_jobs: int
    throughput_rounds: int
    # The page in Chromium (bench/browser.py).
    browser_upload_bytes: int
    page_ready_samples: int
    # The web under load while every core transcodes (bench/responsiveness.py, --explore).
    responsiveness_seconds: float
    responsiveness_repeats: int
    responsiveness_rate: int
    responsiveness_clip_seconds: float


FULL = Params(
    mode="full",
    clip_seconds=10,
    clip_size=(1280, 720),
    # Odd, and each of the 4 sides (bench/e2e.py) goes first at least twice:
    # one 10 s round swings by ±20 % with the host's other tenants, more than
    # the 10 % the target allows.
    lone_repeats=9,
    long_clip_seconds=120,
    long_repeats=4,  # each side first twice: one round of two is ±15 % of noise
    ping_runs=5,
    pings_per_run=60,
    upload_bytes=1024**3,
    upload_repeats=4,
    throughput_jobs=12,
    throughput_rounds=3,  # each side first once: the same baseline swung 21-30 s between two rounds
    browser_upload_bytes=512 * 1024**2,
    page_ready_samples=30,
    responsiveness_seconds=15,
    responsiveness_repeats=2,
    responsiveness_rate=50,
    responsiveness_clip_seconds=60,
)
QUICK = replace(
    FULL,
    mode="quick",
    lone_repeats=3,
    long_clip_seconds=30,  # the row's label says it is shorter than the 2 minutes
    ping_runs=3,
    pings_per_run=50,
    upload_repeats=2,  # one with each side first
    throughput_rounds=1,
    browser_upload_bytes=256 * 1024**2,
    page_ready_samples=10,
    responsiveness_seconds=8,
    responsiveness_repeats=1,
)
SMOKE = replace(
    FULL,
    mode="smoke",
    clip_seconds=2,
    clip_size=(320, 180),
    lone_repeats=1,
    long_clip_seconds=3,
    long_repeats=1,
    ping_runs=1,
    pings_per_run=10,
    upload_bytes=8 * 1024**2,
    upload_repeats=2,
    throughput_jobs=2,
    throughput_rounds=1,
    browser_upload_bytes=16 * 1024**2,
    page_ready_samples=2,
    responsiveness_seconds=1.5,
    responsiveness_repeats=1,
    responsiveness_clip_seconds=4,
)
MODES = {params.mode: params for params in (FULL, QUICK, SMOKE)}
