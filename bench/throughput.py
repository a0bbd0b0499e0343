"""4. Throughput: a batch of jobs through the system against the same jobs
run by hand, N-way parallel, in the same run (N = cores).

- system: the batch is uploaded through the API one after another (the
  clock starts before the first POST) and processed by a worker with
  TRANSCODER_CONCURRENCY=N; the makespan ends at the last job's finished_at
  (written by the collector when SUCCESS arrives), read from the database,
  so that no polling of the web steals CPU from the jobs.
- baseline: each job by hand on a local file (ffprobe, the worker's ffmpeg
  argv with its default -threads, poster), N lanes pulling jobs from one
  list like `xargs -P N`.

Explored in the same rounds (full mode): FFMPEG_THREADS=0 (ffmpeg sizes
itself for the whole machine) with concurrency N, and concurrency 1 with
FFMPEG_THREADS=0 (ffmpeg alone gets every core). Every configuration is compared with the same baseline.
"""

from __future__ import annotations

import time

from bench.direct import direct_batch
from bench.harness import Bench
from bench.procfs import cores
from bench.table import Row, fmt, ratios, verdict


def system_batch(bench: Bench, clip, jobs: int) -> float:
    t0 = time.time()
    ids = [bench.upload(clip, title=f"bench batch {i}") for i in range(jobs)]
    done = bench.wait_final(ids, timeout=1800, poll=0.25)
    bad = [j for j in done if j["status"] != "ready"]
    if bad:
        raise RuntimeError(f"{len(bad)} batch job(s) did not succeed: {bad[0]['error']}")
    return max(j["finished_at"].timestamp() for j in done) - t0


def run(bench: Bench) -> list[Row]:
    p = bench.params
    n = cores()
    clip = bench.main_clip()
    bench.worker()  # concurrency N, FFMPEG_THREADS at the service default
    base_cmds = bench.argv_for(clip, bench.scratch("tp-argv"))
    default = base_cmds.threads
    configs: list[tuple[str, dict]] = [(f"N, FFMPEG_THREADS={default} (default)", {})]
    if p.tp_explore:
        configs += [
            ("N, FFMPEG_THREADS=0 (ffmpeg decides)", {"FFMPEG_THREADS": 0}),
            ("1, FFMPEG_THREADS=0", {"TRANSCODER_CONCURRENCY": 1, "FFMPEG_THREADS": 0}),
        ]
    jobs = [base_cmds.retarget(bench.scratch("tp-direct")) for _ in range(p.tp_jobs)]
    baseline: list[float] = []
    system: dict[str, list[float]] = {label: [] for label, _ in configs}
    steps = [("baseline", None)] + configs
    for r in range(p.tp_rounds):
        for label, env in steps[r % len(steps) :] + steps[: r % len(steps)]:
            if env is None:
                bench.wait_idle()
                baseline.append(direct_batch(jobs, lanes=n))
            else:
                bench.worker(**env)
                system[label].append(system_batch(bench, clip, p.tp_jobs))
    bench.raw["throughput"] = {"baseline": baseline, "system": system, "cores": n}
    head = f"{p.tp_jobs} jobs ({p.clip_seconds:g} s {p.clip_size[0]}×{p.clip_size[1]}), makespan"
    rows = []
    for i, (label, _env) in enumerate(configs):
        r = ratios(system[label], baseline)
        rows.append(
            Row(
                "4",
                f"{head}: concurrency {label.replace('N', str(n), 1)}"
                if i == 0
                else f"· concurrency {label.replace('N', str(n), 1)}",
                fmt(system[label], "s", digits=1),
                fmt(baseline, "s", digits=1) + f" (by hand, {n}-way, -threads {default})"
                if i == 0
                else "same",
                fmt(r),
                "≤ 1.15" if i == 0 else "—",
                verdict(r, lambda x: x <= 1.15) if i == 0 else "—",
            )
        )
    bench.worker()
    return rows
