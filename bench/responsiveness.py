"""5. Responsiveness while busy: `GET /api/videos/<id>/` at a fixed rate
(wrk with bench/paced.lua: 50 req/s over 4 connections) while the worker
runs one long transcode per pool process (all cores busy), with ffmpeg at
FFMPEG_NICE=10 (the default) and at 0; the baseline is the same load with
the worker idle, in the same run. Busy jobs are cancelled through the API
(which kills ffmpeg) once the window is over.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from bench.harness import Bench
from bench.procfs import CpuMeter, cores, tree
from bench.table import Row, fmt, ratios, verdict
from tests.support.processes import command_line

PACED = Path(__file__).with_name("paced.lua")


def wrk(url: str, *, seconds: float, rate: int) -> dict:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c4",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "-s",
            str(PACED),
            url,
            "--",
            str(rate),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _ffmpeg_count(bench: Bench) -> int:
    return sum(
        command_line(p).startswith("ffmpeg") for p in tree(bench.stack.processes["worker"].pid)
    )


def measure(bench: Bench, url: str, busy_clip: Path | None) -> dict:
    p = bench.params
    ids: list[str] = []
    if busy_clip is not None:
        n = cores()
        ids = [bench.upload(busy_clip, title="bench busy") for _ in range(n)]
        deadline = time.monotonic() + 60
        while _ffmpeg_count(bench) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # past ffmpeg's start-up
    try:
        with CpuMeter() as cpu:
            result = wrk(url, seconds=p.resp_window, rate=p.resp_rate)
        result["cpu_busy"] = cpu.busy
        result["ffmpeg_at_end"] = _ffmpeg_count(bench)
    finally:
        for video_id in ids:
            bench.cancel(video_id)
        if ids:
            bench.wait_final(ids, timeout=120)
            bench.wait_idle()
    return result


def run(bench: Bench) -> list[Row]:
    p = bench.params
    bench.worker()
    target = bench.upload(bench.main_clip(), title="bench responsiveness target")
    bench.wait_final([target])
    url = f"{bench.stack.base_url}/api/videos/{target}/"
    busy_clip = bench.clip(
        "testsrc2", seconds=p.resp_clip_seconds, width=p.clip_size[0], height=p.clip_size[1]
    )
    default_nice = bench.argv_for(busy_clip, bench.scratch("resp-argv")).nice
    # FFMPEG_NICE unset means the service default (10 when this was written).
    conditions = {"idle": None, "nice10": "default", "nice0": "0"}
    results: dict[str, list[dict]] = {k: [] for k in conditions}
    order = list(conditions)
    for r in range(p.resp_repeats):
        for name in order[r % 3 :] + order[: r % 3]:
            nice = conditions[name]
            if nice is None or nice == "default":
                bench.worker()
            else:
                bench.worker(FFMPEG_NICE=nice)
            results[name].append(measure(bench, url, None if nice is None else busy_clip))
    bench.worker()
    bench.raw["responsiveness"] = results

    def pct(name: str, key: str) -> list[float]:
        return [x[key] / 1000 for x in results[name]]

    idle99 = pct("idle", "p99_us")
    rows = []
    for name, label in (
        ("nice10", f"FFMPEG_NICE={default_nice} (default)"),
        ("nice0", "FFMPEG_NICE=0"),
    ):
        busy99 = pct(name, "p99_us")
        first = name == "nice10"
        rows.append(
            Row(
                "5",
                (
                    f"GET /api/videos/<id>/ at {p.resp_rate} req/s for {p.resp_window:g} s, p99, "
                    f"{cores()} jobs running, {label}"
                )
                if first
                else f"· same, {label}",
                fmt(busy99, "ms", digits=1),
                fmt(idle99, "ms", digits=1) + " (idle)" if first else "same",
                fmt(ratios(busy99, idle99)),
                "≤ 100 ms",
                verdict(busy99, lambda x: x <= 100),
            )
        )
    rows.append(
        Row(
            "5",
            f"· p50: busy nice {default_nice} / busy nice 0 / idle",
            " / ".join(fmt(pct(n, "p50_us"), "ms", digits=1) for n in ("nice10", "nice0", "idle")),
        )
    )
    errors = sum(x["errors"] + x["non_2xx"] for v in results.values() for x in v)
    requests = sum(x["requests"] for v in results.values() for x in v)
    rows.append(
        Row(
            "5",
            f"· machine CPU busy during the window: nice {default_nice} / nice 0 / idle; failed requests",
            " / ".join(
                fmt([x["cpu_busy"] * 100 for x in results[n]], "%", digits=0)
                for n in ("nice10", "nice0", "idle")
            )
            + f"; {errors} of {requests}",
        )
    )
    try:
        autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        autogroup = False
    rows.append(
        Row(
            "5",
            "· kernel sched_autogroup (CPU shared per session first; each service runs in its own)",
            "on: ffmpeg's nice only ranks it within the worker's group" if autogroup else "off",
        )
    )
    return rows
