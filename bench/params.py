"""How much each `make bench` mode measures."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass
class Params:
    """How much to measure. `full` is `make bench`; `quick` fewer repeats; `smoke` tiny."""

    mode: str
    clip_seconds: float
    clip_size: tuple[int, int]
    e2e_repeats: int
    # The long source of issue 13, alone (bench/e2e.py).
    long_clip_seconds: float
    long_repeats: int
    poll_interval: float
    ping_runs: int
    ping_per_run: int
    upload_bytes: int
    upload_repeats: int
    throughput_jobs: int
    throughput_rounds: int
    throughput_explore: bool
    resp_window: float
    resp_repeats: int
    resp_rate: int
    resp_clip_seconds: float
    prog_pairs: int
    prog_jobs: int
    enc_configs: tuple[tuple[str, int], ...]
    enc_contents: tuple[str, ...]
    enc_repeats: int
    # The page in Chromium (bench/browser.py).
    browser_upload_bytes: int
    page_ready_samples: int

    @classmethod
    def for_mode(cls, mode: str) -> Params:
        full_grid = (
            ("veryfast", 23),  # the default (profiles.py); first = the baseline
            ("veryfast", 20),  # the default preset at three CRFs: its rate–quality curve
            ("veryfast", 26),
            ("faster", 23),
            ("medium", 23),
            ("superfast", 23),
        )
        full = cls(
            mode="full",
            clip_seconds=10,
            clip_size=(1280, 720),
            e2e_repeats=5,
            long_clip_seconds=120,
            long_repeats=2,  # one with each side first
            poll_interval=0.05,
            ping_runs=5,
            ping_per_run=60,
            upload_bytes=1024**3,
            upload_repeats=4,
            throughput_jobs=12,
            throughput_rounds=2,
            throughput_explore=True,
            resp_window=15,
            resp_repeats=2,
            resp_rate=50,
            resp_clip_seconds=60,
            prog_pairs=3,
            prog_jobs=4,
            enc_configs=full_grid,
            enc_contents=("testsrc2", "mandelbrot"),
            enc_repeats=1,
            browser_upload_bytes=512 * 1024**2,
            page_ready_samples=30,
        )
        if mode == "quick":
            return replace(
                full,
                mode=mode,
                e2e_repeats=3,
                long_clip_seconds=30,  # the row's label says it is not issue 13's 2 minutes
                ping_runs=3,
                ping_per_run=50,
                upload_repeats=2,  # one with each side first
                throughput_rounds=1,
                throughput_explore=False,
                resp_window=8,
                resp_repeats=1,
                prog_pairs=2,
                enc_configs=full_grid[:5],
                browser_upload_bytes=256 * 1024**2,
                page_ready_samples=10,
            )
        if mode == "smoke":
            return replace(
                full,
                mode=mode,
                clip_seconds=2,
                clip_size=(320, 180),
                e2e_repeats=1,
                long_clip_seconds=3,
                long_repeats=1,
                ping_runs=1,
                ping_per_run=10,
                upload_bytes=8 * 1024**2,
                upload_repeats=2,
                throughput_jobs=2,
                throughput_rounds=1,
                throughput_explore=False,
                resp_window=1.5,
                resp_repeats=1,
                resp_clip_seconds=4,
                prog_pairs=1,
                prog_jobs=1,
                enc_configs=(full_grid[0], full_grid[3]),
                enc_contents=("testsrc2",),
                browser_upload_bytes=16 * 1024**2,
                page_ready_samples=2,
            )
        return full
