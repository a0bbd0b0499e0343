"""Section 1's rounds: the system against its baselines, taking turns to go first.

One side is a job through the whole system, from the start of
`POST /api/videos/` (sent by curl, which streams the file as a browser does)
to the moment the collector stores `ready` (the job's `finished_at`); the
others are the same work done by hand (bench/direct.py). bench/e2e.py and
bench/ladder.py make their rows from these rounds.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.direct import HandJob, direct_job
from bench.harness import Bench, rounds_rotated
from bench.table import Row, compared
from tests.support.api import FINAL

POLL_SECONDS = 1.0
TARGET = 1.10

Rounds = list[dict[str, dict[str, Any]]]
Side = Callable[[], dict[str, Any]]


def system_once(bench: Bench, clip: Path) -> dict[str, Any]:
    t0 = time.time()
    video_id = bench.upload(clip, title="bench e2e")
    while True:
        body = bench.api.video(video_id)
        if body["status"] in FINAL:
            break
        # Slowly: the end is read from the job row, and fast polling of a
        # 2-core machine would steal CPU from the very ffmpeg being timed.
        time.sleep(POLL_SECONDS)
    if body["status"] != "ready":
        raise RuntimeError(f"e2e job ended {body['status']}: {body.get('error')}")
    (job,) = bench.jobs([video_id])
    stamps = ("created", "sent", "started", "finished")
    return {
        "t0": t0,
        **{name: job[f"{name}_at"].timestamp() for name in stamps},
        "elapsed": job["result"]["elapsed_seconds"],
        "timings": job["result"]["timings"],
        "total": job["finished_at"].timestamp() - t0,
    }


def by_hand(job: HandJob) -> Side:
    return functools.partial(direct_job, job)


def side_by_side(
    bench: Bench,
    clip: Path,
    baselines: dict[str, Side],
    *,
    repeats: int,
    warm_up: bool = True,
    system: Side | None = None,
) -> Rounds:
    """`repeats` rounds of the system and each baseline, taking turns to go first."""
    sides: dict[str, Side] = {
        "system": system or (lambda: system_once(bench, clip)),
        **baselines,
    }
    if warm_up:  # not counted: first imports, first connections, cold caches
        for side in sides.values():
            side()
    return [
        {name: sides[name]() for name in order}
        for order in rounds_rotated(list(sides), repeats=repeats)
    ]


def totals(rounds: Rounds, side: str) -> list[float]:
    return [r[side]["total"] for r in rounds]


def target_row(label: str, rounds: Rounds, *, baseline: str, what: str) -> Row:
    return compared(
        "1",
        label,
        totals(rounds, "system"),
        totals(rounds, baseline),
        unit="s",
        baseline_note=what,
        target=f"≤ {TARGET:.2f}",
        ok=lambda x: x <= TARGET,
    )
