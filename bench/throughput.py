"""4. Throughput: a batch of jobs through the system against the same jobs
run by hand in the shell, in the same run.

- system: the batch is uploaded through the API one after another (the
  clock starts before the first POST) and processed by a worker with its
  defaults (TRANSCODER_CONCURRENCY = cores, FFMPEG_THREADS unset); the
  makespan ends at the last job's finished_at (written by the collector when
  SUCCESS arrives), read from the database, so that no polling of the web
  steals CPU from the jobs. The web asks for the MP4 alone.
- baseline: the best a person would do with the same plain commands
  (bench/direct.py `plain_job`) and a shell: N lanes pulling jobs from one
  list like `xargs -P N`, each ffmpeg with `-threads 1`, and one lane with
  ffmpeg choosing its own threads. Each round's baseline is the faster of the
  two; the row says which won.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.direct import direct_batch, plain_job
from bench.harness import Bench, cores, rounds_rotated
from bench.table import Row, compared, fmt

TARGET = 1.10


def system_batch(bench: Bench, *, clip: Path, jobs: int) -> float:
    t0 = time.time()
    ids = [bench.upload(clip, title=f"bench batch {i}") for i in range(jobs)]
    done = bench.wait_final(ids, timeout=1800)
    bad = [j for j in done if j["status"] != "ready"]
    if bad:
        raise RuntimeError(f"{len(bad)} batch job(s) did not succeed: {bad[0]['error']}")
    return max(j["finished_at"].timestamp() for j in done) - t0


def run(bench: Bench) -> list[Row]:
    p = bench.params
    n = cores()
    clip = bench.main_clip()
    bench.web()
    bench.worker()
    folders = [bench.scratch("throughput") for _ in range(p.throughput_jobs)]
    n_way = [plain_job(clip, f, duration=p.clip_seconds, threads=1) for f in folders]
    one_way = [plain_job(clip, f, duration=p.clip_seconds) for f in folders]
    lanes = {f"{n}-way -threads 1": (n, n_way), "1-way, ffmpeg's threads": (1, one_way)}
    by_hand: dict[str, list[float]] = {name: [] for name in lanes}
    system: list[float] = []
    for order in rounds_rotated([*lanes, "system"], repeats=p.throughput_rounds):
        for name in order:
            if name == "system":
                system.append(system_batch(bench, clip=clip, jobs=p.throughput_jobs))
            else:
                bench.wait_idle()
                width, jobs = lanes[name]
                by_hand[name].append(direct_batch(jobs, lanes=width))
    best = [min(times) for times in zip(*by_hand.values(), strict=True)]
    winners = [min(by_hand, key=lambda name, i=i: by_hand[name][i]) for i in range(len(best))]
    bench.raw["throughput"] = {"by_hand": by_hand, "system": system, "cores": n}
    choices = "; ".join(
        f"{name} {fmt(times, 's', digits=1)}, won {winners.count(name)} of {len(best)}"
        for name, times in by_hand.items()
    )
    w, h = p.clip_size
    return [
        compared(
            "4",
            f"{p.throughput_jobs} jobs ({p.clip_seconds:g} s {w}×{h}, MP4 only), makespan: "
            f"concurrency {n}, FFMPEG_THREADS unset (default)",
            system,
            best,
            unit="s",
            digits=1,
            baseline_note=f"by hand, the faster per round of: {choices}",
            target=f"≤ {TARGET:.2f}",
            ok=lambda x: x <= TARGET,
        )
    ]
