"""1. Time to ready as a client sees it: upload through the API, then ask the
video's detail every 0.1 s until it says `ready`, against the same job's
commands run by hand through the same store (issue 26, "Targets").

Section 1's rows (bench/e2e.py) stop the clock when the collector stores
`ready` and poll the database once a second, so they leave out what a client
pays on top: its own polls (each a request the web answers while ffmpeg runs
on the same two cores) and the time from `ready` stored to a poll that sees
it. This row runs as a script would:

- system: `POST /api/videos/` (curl, streamed as a browser sends it), then
  `GET /api/videos/<id>/` every `POLL_SECONDS` (a new request each time, on
  one kept-alive connection, as `requests.Session` does) until the status is
  final; the clock stops when the answer saying `ready` arrived;
- baseline: `store_job` (bench/direct.py), the plain commands a person would
  type, run through the same store with boto3's defaults: `upload_file` the
  source, `download_file` it, ffprobe, ffmpeg with its own threads, a poster,
  `upload_file` the MP4 and the poster.

- a third side, the system polled every second instead: what the client's
  own polls cost the job (each GET is CPU taken from ffmpeg on this host).

A lone 10 s 720p MP4-only job; the sides take turns to go first. The
breakdown uses the job row's stamps and the result's stage timings, so a
slow round says where its time went.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import requests

from bench.direct import plain_job, store_job
from bench.harness import Bench, curl_upload, rounds_rotated, tree
from bench.table import Row, compared, fmt
from tests.support.api import FINAL

POLL_SECONDS = 0.1
SLOW_POLL_SECONDS = 1.0
TARGET = 1.10
STORE_NOTE = (
    "by hand through the store: boto3 `upload_file` the source, `download_file` it, ffprobe, "
    "`ffmpeg … -preset veryfast -crf 23` with no -threads, poster, `upload_file` the outputs"
)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of `pid` and its descendants now, from /proc."""
    ticks = 0
    for each in tree(pid):
        # A process may end between listing and reading.
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def client_once(
    bench: Bench, clip: Any, session: requests.Session, *, every: float = POLL_SECONDS
) -> dict[str, Any]:
    """Upload, then poll the detail every `every` seconds until final; seconds and stamps."""
    url = f"{bench.stack.base_url}/api/videos/"
    headers = bench.api.headers()
    web_pid = bench.stack.processes["web"].pid
    web_cpu = cpu_seconds(web_pid)
    t0 = time.time()
    code, _, body = curl_upload(
        url, clip, headers=headers, title="bench client view", content_type="video/mp4"
    )
    posted = time.time()
    if code != 201:
        raise RuntimeError(f"upload refused: {code} {body[:300]}")
    video_id = json.loads(body)["id"]
    polls, poll_ms = 0, []
    while True:
        asked = time.time()
        answer = session.get(f"{url}{video_id}/", headers=headers, timeout=30)
        seen = time.time()
        answer.raise_for_status()
        polls += 1
        poll_ms.append((seen - asked) * 1000)
        status = answer.json()["status"]
        if status in FINAL:
            break
        # The next poll 0.1 s after this one was sent, as a timer-driven client would.
        time.sleep(max(0.0, asked + every - time.time()))
    web_cpu = cpu_seconds(web_pid) - web_cpu
    if status != "ready":
        raise RuntimeError(f"client-view job ended {status}")
    (job,) = bench.jobs([video_id])
    stamps = {name: job[f"{name}_at"].timestamp() for name in ("created", "sent", "started")}
    return {
        "t0": t0,
        "posted": posted,
        **stamps,
        "finished": job["finished_at"].timestamp(),
        "seen": seen,
        "polls": polls,
        "poll_ms": statistics.median(poll_ms),
        "web_cpu": web_cpu,
        "elapsed": job["result"]["elapsed_seconds"],
        "timings": job["result"]["timings"],
        "total": seen - t0,
    }


def run(bench: Bench) -> list[Row]:
    p = bench.params
    w, h = p.clip_size
    bench.web()
    bench.worker()
    clip = bench.main_clip()
    copy = bench.scratch("client-store") / "source.mp4"
    hand = plain_job(copy, copy.parent, duration=p.clip_seconds)
    env = {**bench.stack.processes["web"].env, **bench.stack.processes["worker"].env}
    session = requests.Session()
    sides = {
        "system": functools.partial(client_once, bench, clip, session),
        # What the polls cost the job: the same, asked ten times less often.
        "slow_polls": functools.partial(client_once, bench, clip, session, every=SLOW_POLL_SECONDS),
        "store": functools.partial(store_job, hand, source=clip, copy=copy, env=env),
    }
    for side in sides.values():  # warm-up, not counted
        side()
    repeats = max(p.lone_repeats, 5) if p.mode != "smoke" else 1
    rounds = [
        {name: sides[name]() for name in order}
        for order in rounds_rotated(list(sides), repeats=repeats)
    ]
    bench.raw["client_view"] = rounds
    return rows_make(rounds, label=f"{p.clip_seconds:g} s {w}×{h} clip, MP4 only")


def rows_make(rounds: list[dict[str, dict[str, Any]]], *, label: str) -> list[Row]:
    system = [r["system"] for r in rounds]
    store = [r["store"] for r in rounds]

    def span(start: str, end: str) -> list[float]:
        return [(s[end] - s[start]) * 1000 for s in system]

    def ms(label_: str, values: list[float]) -> Row:
        return Row("1", label_, fmt(values, "ms", digits=0))

    stages = ("download", "probe", "transcode", "verify", "upload")
    return [
        compared(
            "1",
            f"upload → `ready` as a client sees it: `POST /api/videos/`, then GET the detail "
            f"every {POLL_SECONDS:g} s ({label}, lone job, n={len(rounds)})",
            [s["total"] for s in system],
            [b["total"] for b in store],
            unit="s",
            baseline_note=STORE_NOTE,
            target=f"≤ {TARGET:.2f}",
            ok=lambda x: x <= TARGET,
        ),
        compared(
            "1",
            f"· polls' cost: upload → `ready` stored, polled every {POLL_SECONDS:g} s vs every "
            f"{SLOW_POLL_SECONDS:g} s (a third side, alternating)",
            [s["finished"] - s["t0"] for s in system],
            [r["slow_polls"]["finished"] - r["slow_polls"]["t0"] for r in rounds],
            unit="s",
        ),
        compared(
            "1",
            f"· the same, `transcode` stage: polled every {POLL_SECONDS:g} s vs every "
            f"{SLOW_POLL_SECONDS:g} s",
            [s["timings"]["transcode"] * 1000 for s in system],
            [r["slow_polls"]["timings"]["transcode"] * 1000 for r in rounds],
            unit="ms",
            digits=0,
        ),
        compared(
            "1",
            "· POST start → job row created (source in the store, records) vs boto3 "
            "`upload_file` of the source",
            span("t0", "created"),
            [b["upload_source"] * 1000 for b in store],
            unit="ms",
            digits=0,
        ),
        ms("· created → `sent` (commit, on_commit publish, confirm)", span("created", "sent")),
        ms("· `sent` → POST answered (the client's 201)", span("sent", "posted")),
        ms("· `sent` → STARTED stored", span("sent", "started")),
        compared(
            "1",
            "· worker: `elapsed_seconds` vs by hand: download, probe, ffmpeg, poster, outputs in",
            [s["elapsed"] * 1000 for s in system],
            [(b["total"] - b["upload_source"]) * 1000 for b in store],
            unit="ms",
            digits=0,
        ),
        Row(
            "1",
            "·· worker stages: " + " / ".join(stages),
            " / ".join(
                fmt([s["timings"].get(k, float("nan")) * 1000 for s in system], "ms", digits=0)
                for k in stages
            ),
        ),
        *(
            compared(
                "1",
                f"·· stage `{name}` vs by hand",
                [s["timings"].get(name, float("nan")) * 1000 for s in system],
                [b[name] * 1000 for b in store],
                unit="ms",
                digits=0,
            )
            for name in ("download", "probe", "transcode")
        ),
        compared(
            "1",
            "·· outputs out: `verify` beside `upload` (the longer of the two) vs by hand: "
            "the poster command, then `upload_file` of the outputs",
            [
                max(s["timings"].get("verify", 0), s["timings"].get("upload", 0)) * 1000
                for s in system
            ],
            [(b["poster"] + b["upload_outputs"]) * 1000 for b in store],
            unit="ms",
            digits=0,
        ),
        ms(
            "·· the worker's time outside its stages (scratch sweep, manifest lookup, attempt "
            "marker, manifest written)",
            [
                (
                    s["elapsed"]
                    - sum(s["timings"].get(k, 0) for k in ("download", "probe", "transcode"))
                    - max(s["timings"].get("verify", 0), s["timings"].get("upload", 0))
                )
                * 1000
                for s in system
            ],
        ),
        ms(
            "· STARTED → `ready` stored, minus the worker's `elapsed_seconds`",
            [
                a - s["elapsed"] * 1000
                for a, s in zip(span("started", "finished"), system, strict=True)
            ],
        ),
        ms("· `ready` stored → a poll saw it", span("finished", "seen")),
        Row(
            "1",
            "· polls per job; one poll's answer time (median of each job's); the web's CPU "
            "during the job (upload and polls, all gunicorn processes)",
            f"{fmt([s['polls'] for s in system], digits=0)}; "
            + fmt([s["poll_ms"] for s in system], "ms", digits=1)
            + "; "
            + fmt([s["web_cpu"] * 1000 for s in system], "ms", digits=0),
        ),
    ]
