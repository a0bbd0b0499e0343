"""6. Progress cost: the same batch with progress reporting at the service
default (PROGRESS_INTERVAL unset: the worker's default, 1 s), at 0.25 s, and effectively off
(PROGRESS_INTERVAL=1e9: the reporter forwards only the very first update),
in rotating order in the same run.

Two readings of "throughput":
- CPU-derived (judged): when the jobs saturate the cores, jobs per
  CPU-second is the throughput. Per job: ffmpeg/ffprobe (the pool processes'
  waited-for children, cutime+cstime) plus everything outside ffmpeg that
  progress makes work: the worker's Python processes, the collector, the
  broker (beam.smp) and the database (postgres), which serve nothing but the
  bench during the run (utime+stime from /proc, processes alive through the
  batch). Cost = extra CPU per job ÷ CPU per job with progress off.
- wall-clock: jobs per minute of makespan (first POST → last finished_at),
  shown too, but a 2 % difference is well below this machine's run-to-run
  noise on a batch of a few jobs.
"""

from __future__ import annotations

from bench.harness import Bench
from bench.procfs import cpu_delta, cpu_snapshot, pids_named, python_pids, tree
from bench.table import Row, fmt, ratios, verdict
from bench.throughput import system_batch

SETTINGS = {"default": None, "fast": "0.25", "off": "1e9"}


def _batch(bench: Bench, clip, jobs: int) -> dict[str, float]:
    def snapshot() -> tuple[dict[int, float], dict[int, float], dict[int, float]]:
        pool = python_pids(bench.stack.processes["worker"].pid)
        ours = pool + tree(bench.stack.processes["collector"].pid)
        return (
            cpu_snapshot(ours),
            cpu_snapshot(pids_named("postgres", "beam.smp")),
            cpu_snapshot(pool, children=True),
        )

    ours0, services0, ffmpeg0 = snapshot()
    makespan = system_batch(bench, clip, jobs)
    ours1, services1, ffmpeg1 = snapshot()
    return {
        "jobs_per_min": jobs / makespan * 60,
        "python_cpu": cpu_delta(ours0, ours1) / jobs,
        "service_cpu": cpu_delta(services0, services1) / jobs,
        "ffmpeg_cpu": cpu_delta(ffmpeg0, ffmpeg1) / jobs,
    }


def run(bench: Bench) -> list[Row]:
    p = bench.params
    clip = bench.main_clip()
    bench.worker()
    # The worker's own default (or --worker-env's), read from its settings code.
    default = f"{bench.argv_for(clip, bench.scratch('prog-argv')).raw['progress_interval']:g}"
    results: dict[str, list[dict[str, float]]] = {k: [] for k in SETTINGS}
    order = list(SETTINGS)
    for i in range(p.prog_pairs):
        for name in order[i % 3 :] + order[: i % 3]:
            value = SETTINGS[name]
            if value is None:
                bench.worker()
            else:
                bench.worker(PROGRESS_INTERVAL=value)
            results[name].append(_batch(bench, clip, p.prog_jobs))
    bench.worker()
    bench.raw["progress"] = results

    def col(name: str, key: str) -> list[float]:
        return [x[key] for x in results[name]]

    def outside(name: str) -> list[float]:
        return [x["python_cpu"] + x["service_cpu"] for x in results[name]]

    def total(name: str) -> list[float]:
        return [x["python_cpu"] + x["service_cpu"] + x["ffmpeg_cpu"] for x in results[name]]

    def cost(name: str) -> list[float]:
        """Per round: extra CPU per job over 'off', in % of a job's CPU with progress off."""
        rounds = zip(outside(name), outside("off"), total("off"), strict=True)
        return [(a - b) / t * 100 for a, b, t in rounds]

    on, one, off = (col(n, "jobs_per_min") for n in ("default", "fast", "off"))
    loss = [(1 - x) * 100 for x in ratios(on, off)]
    n = len(on)
    return [
        Row(
            "6",
            f"throughput cost of progress every {default} s (default), CPU-derived, "
            f"{p.prog_jobs}-job batches, n={n}",
            fmt(cost("default"), "%", digits=1),
            fmt(total("off"), "CPU-s/job", digits=2) + " (progress off)",
            "—",
            "≤ 2 %",
            verdict(cost("default"), lambda x: x <= 2),
        ),
        Row(
            "6",
            "· same, PROGRESS_INTERVAL=0.25 (the earlier default)",
            fmt(cost("fast"), "%", digits=1),
            "same",
            "—",
            "≤ 2 %",
            verdict(cost("fast"), lambda x: x <= 2),
        ),
        Row(
            "6",
            f"· CPU per job outside ffmpeg (worker Python, collector, broker, database): "
            f"{default} s / 0.25 s / off",
            " / ".join(fmt(outside(x), "s", digits=3) for x in ("default", "fast", "off")),
            "—",
            fmt(ratios(outside("default"), outside("off")))
            + " / "
            + fmt(ratios(outside("fast"), outside("off"))),
        ),
        Row(
            "6",
            "· of which worker Python + collector",
            " / ".join(
                fmt(col(x, "python_cpu"), "s", digits=3) for x in ("default", "fast", "off")
            ),
        ),
        Row(
            "6",
            f"· wall-clock throughput, {default} s vs off (noisy at this batch size)",
            fmt(on, "jobs/min", digits=1),
            fmt(off, "jobs/min", digits=1),
            fmt(ratios(on, off), digits=3),
            "≥ 0.98",
            verdict(loss, lambda x: x <= 2),
        ),
        Row(
            "6",
            "· wall-clock throughput, 0.25 s vs off",
            fmt(one, "jobs/min", digits=1),
            "same",
            fmt(ratios(one, off), digits=3),
        ),
    ]
