"""5. (--explore) Responsiveness while busy: `GET /api/videos/<id>/` at a fixed
rate (wrk with bench/paced.lua: 50 req/s over 4 connections) while the worker
runs one long transcode per core at its default FFMPEG_NICE, against the same
load with the worker idle, taking turns in the same run. The busy jobs are
cancelled through the API (which kills ffmpeg) once the window is over.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.harness import Bench, cores, rounds_rotated
from bench.table import Row, fmt, ratios, verdict

PACED = Path(__file__).with_name("paced.lua")


def wrk_paced(url: str, *, seconds: float, rate: int, headers: dict[str, str]) -> dict[str, Any]:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    argv = ["wrk", "-t1", "-c4", f"-d{max(1, round(seconds))}s", "--timeout", "5s"]
    argv += [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    argv += ["-s", str(PACED), url, "--", str(rate)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load_measure(bench: Bench, *, url: str, busy_clip: Path | None) -> dict[str, Any]:
    """wrk's figures for one window, with one transcode per core running if `busy_clip`."""
    p = bench.params
    ids = [bench.upload(busy_clip, title="bench busy") for _ in range(cores())] if busy_clip else []
    deadline = time.monotonic() + 60
    while bench.ffmpeg_count() < len(ids) and time.monotonic() < deadline:
        time.sleep(0.1)
    if ids:
        time.sleep(0.5)  # past ffmpeg's start-up
    try:
        # Signed in: the API answers a request without the token with a quick 401.
        load = {"seconds": p.responsiveness_seconds, "rate": p.responsiveness_rate}
        return wrk_paced(url, **load, headers=bench.api.headers())
    finally:
        for video_id in ids:
            bench.api.post(f"/api/videos/{video_id}/cancel/")
        if ids:
            bench.wait_final(ids, timeout=120)
            bench.wait_idle()


def run(bench: Bench) -> list[Row]:
    p = bench.params
    bench.worker()
    target = bench.upload(bench.main_clip(), title="bench responsiveness target")
    bench.wait_final([target])
    url = f"{bench.stack.base_url}/api/videos/{target}/"
    w, h = p.clip_size
    busy_clip = bench.clip(seconds=p.responsiveness_clip_seconds, width=w, height=h)
    nice = bench.argv_for(busy_clip, bench.scratch("responsiveness-argv")).nice
    results: dict[str, list[dict[str, Any]]] = {"busy": [], "idle": []}
    for order in rounds_rotated(list(results), repeats=p.responsiveness_repeats):
        for name in order:
            clip = busy_clip if name == "busy" else None
            results[name].append(load_measure(bench, url=url, busy_clip=clip))
    bench.raw["responsiveness"] = results
    busy, idle = ([x["p99_us"] / 1000 for x in results[k]] for k in ("busy", "idle"))
    failed = sum(x["errors"] + x["non_2xx"] for v in results.values() for x in v)
    requests = sum(x["requests"] for v in results.values() for x in v)
    label = (
        f"GET /api/videos/<id>/ at {p.responsiveness_rate} req/s for "
        f"{p.responsiveness_seconds:g} s, p99, {cores()} jobs running at FFMPEG_NICE={nice} "
        f"(default); {failed} of {requests} requests failed"
    )
    busy_cell, idle_cell = fmt(busy, "ms", digits=1), fmt(idle, "ms", digits=1) + " (idle)"
    ratio, met = fmt(ratios(busy, idle)), verdict(busy, lambda x: x <= 100)
    return [Row("5", label, busy_cell, idle_cell, ratio, "≤ 100 ms", met)]
