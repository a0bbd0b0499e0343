"""9. What watching costs: a lone job with tracing and metrics on, against off,
alternating in the same run.

- on: every process (web, collector, worker) exports its spans over OTLP/HTTP
  (protobuf) to a local receiver, the e2e suite's (tests/support/otlp.py),
  which decodes every request as a tracing backend would; the SDK keeps its
  defaults (a batch every 5 s), as an operator's would. The worker and the
  collector also serve /metrics (TRANSCODER_METRICS_PORT, COLLECTOR_METRICS_PORT),
  scraped once after each job, outside the timed part.
- off: no OTEL_* endpoint (nothing is installed, docs/operating.md) and no
  metrics ports. The web's own counters behind GET /metrics are always
  counted: they cannot be switched off, so both sides pay for them.

The job is section 1's: a 10 s 720p clip, MP4 only, timed from the start of
`POST /api/videos/` to the job row's `finished_at` (read from the database,
not by polling the web). Switching restarts the three processes with the
other settings, never while a job is timed, and runs WARM_UP_JOBS uncounted
after it (a restarted process is cold on both sides alike); rounds take turns to
go first (`rounds_rotated`), and each round's ratio is on ÷ off.

Two breakdown rows are less at the mercy of the machine's other tenants,
which stretch a job's wall time but hardly its CPU time: the CPU the service
processes (web, collector, worker) spend themselves per job, where tracing's
cost lands, and the same with ffmpeg's, the whole job's CPU. Both are read
from /proc over the job and the 6 s after it, by which time the SDK's batch
has left.

The run is judged too: every "on" job must have left spans from all three
services in one trace, and no "off" job any span at all.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import requests

from bench.harness import Bench, rounds_rotated, tree
from bench.table import Row, compared
from tests.support.observe import queue_state, wait_until
from tests.support.otlp import Receiver, otlp_receiving
from tests.support.processes import command_line
from tests.support.stack import free_port

SECTION = "9"
TARGET = 1.02
SERVICES = {"web", "collector", "transcoder"}
# Every variable an "on" side sets; "off" removes them all.
SWITCHES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "COLLECTOR_METRICS_PORT", "TRANSCODER_METRICS_PORT")
# The SDK's default OTEL_BSP_SCHEDULE_DELAY is 5 s: the CPU window waits it out.
EXPORTED_WITHIN = 6.0
# Uncounted jobs after a restart: one per gunicorn worker and pool process
# (2 each on this machine), which each pay their first-use costs once; with
# one, the next counted job often met a cold one and cost 3-5x the web's CPU.
WARM_UP_JOBS = 2


def _cpu_seconds(bench: Bench) -> tuple[float, float]:
    """User + system CPU the service processes spent: (themselves, with their children).

    Their children are ffmpeg, counted once reaped: none runs before or after a job.
    """
    ticks = [0, 0]
    for name in ("web", "collector", "worker"):
        proc = bench.stack.processes[name]
        for pid in tree(proc.pid) if proc.running else []:
            if command_line(pid).startswith("ffmpeg"):
                continue
            # A process may end between listing and reading: it then spent nothing more.
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                own = int(fields[11]) + int(fields[12])  # utime, stime
                ticks[0] += own
                ticks[1] += own + int(fields[13]) + int(fields[14])  # + cutime, cstime
    return ticks[0] / os.sysconf("SC_CLK_TCK"), ticks[1] / os.sysconf("SC_CLK_TCK")


def _restarted(bench: Bench, name: str, *, on: dict[str, str]) -> None:
    """Restart the web or the collector with `on` (or none) of SWITCHES, if not so already."""
    proc = bench.stack.processes[name]
    env = {k: v for k, v in proc.env.items() if k not in SWITCHES} | on
    if proc.running and env == proc.env:
        return
    proc.stop()
    proc.popen, proc.env = None, env
    proc.start()
    if name == "web":
        bench.stack.wait_web()
        return
    # The collector is ready once it consumes the reply queue: a job's
    # replies waiting for it would be counted against its side.
    queue = env.get("RESULTS_QUEUE", "web.transcode_results")
    wait_until(
        lambda: (queue_state(bench.stack.broker_url, queue) or (0, 0))[1] >= 1,
        timeout=60,
        what="the collector consumes its reply queue",
    )


def _switch(bench: Bench, *, on: bool, receiver: Receiver, ports: dict[str, int]) -> bool:
    """Web, collector and worker with the side's settings; whether any was restarted."""
    bench.wait_idle()
    before = [proc.pid if proc.running else 0 for proc in bench.stack.processes.values()]
    traces = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint} if on else {}
    collector = {"COLLECTOR_METRICS_PORT": str(ports["collector"])} if on else {}
    worker = {"TRANSCODER_METRICS_PORT": str(ports["worker"])} if on else {}
    _restarted(bench, "web", on=traces)
    _restarted(bench, "collector", on=traces | collector)
    bench.worker(**traces, **worker)
    return before != [proc.pid for proc in bench.stack.processes.values()]


def _job(
    bench: Bench, clip: Path, *, settle: float
) -> tuple[dict[str, Any], float, tuple[float, float]]:
    """(the job row, seconds from the POST's start to `ready` stored, CPU seconds spent)."""
    cpu, t0 = _cpu_seconds(bench), time.time()
    video_id = bench.upload(clip, title="bench observability")
    (job,) = bench.wait_final([video_id], timeout=600)
    if job["status"] != "ready":
        raise RuntimeError(f"observability job ended {job['status']}: {job['error']}")
    finished = job["finished_at"].timestamp()
    time.sleep(max(0.0, finished + settle - time.time()))
    after = _cpu_seconds(bench)
    return {**job, "t0": t0}, finished - t0, (after[0] - cpu[0], after[1] - cpu[1])


# Where the time of a job goes, from its row and its result (as in section 1).
PARTS = {
    "upload": "POST start → job row created (the upload, the web)",
    "dispatch": "created → sent (commit, outbox publish)",
    "pickup": "sent → STARTED stored (queue, worker, reply, collector)",
    "pipeline": "the worker's pipeline (`elapsed_seconds`)",
    "collect": "STARTED → `ready` stored, minus the pipeline (task, replies, collector)",
}


def _parts(job: dict[str, Any]) -> dict[str, float]:
    stamps = ("created", "sent", "started", "finished")
    at = {name: job[f"{name}_at"].timestamp() for name in stamps}
    elapsed = float(job["result"]["elapsed_seconds"])
    return {
        "upload": at["created"] - job["t0"],
        "dispatch": at["sent"] - at["created"],
        "pickup": at["started"] - at["sent"],
        "pipeline": elapsed,
        "collect": at["finished"] - at["started"] - elapsed,
    }


def _scraped(ports: dict[str, int]) -> None:
    for name, port in ports.items():
        answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        if answer.status_code != 200 or "# TYPE" not in answer.text:
            raise RuntimeError(f"the {name}'s /metrics did not answer: {answer.status_code}")


def _services_traced(receiver: Receiver, video_id: str) -> set[str]:
    spans = receiver.received()
    traces = {s.trace_id for s in spans if s.attributes.get("video.id") == video_id}
    return {s.resource.get("service.name", "") for s in spans if s.trace_id in traces}


def _checked(receiver: Receiver, ids: dict[str, list[str]]) -> None:
    """Every "on" job was traced through all three services; no "off" job was."""
    # The SDK's batches leave every 5 s: the last job's may still be on its way.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(
        _services_traced(receiver, v) != SERVICES for v in ids["on"]
    ):
        time.sleep(0.5)
    for video_id in ids["on"]:
        found = _services_traced(receiver, video_id)
        if found != SERVICES:
            raise RuntimeError(f"the traced job {video_id} has spans from {sorted(found)} only")
    for video_id in ids["off"]:
        if _services_traced(receiver, video_id):
            raise RuntimeError(f"the untraced job {video_id} exported spans")


def run(bench: Bench) -> list[Row]:
    p = bench.params
    w, h = p.clip_size
    clip = bench.main_clip()
    bench.web()  # MP4 only
    ports = {"collector": free_port(), "worker": free_port()}
    seconds: dict[str, list[float]] = {"on": [], "off": []}
    cpu: dict[str, list[float]] = {"on": [], "off": []}
    cpu_all: dict[str, list[float]] = {"on": [], "off": []}
    settle = EXPORTED_WITHIN if p.mode != "smoke" else 0.0
    ids: dict[str, list[str]] = {"on": [], "off": []}
    parts: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
    with otlp_receiving() as receiver:
        try:
            for order in rounds_rotated(["on", "off"], repeats=p.lone_repeats):
                for side in order:
                    # After a restart, jobs not counted: first imports, first
                    # connections, the store's client made on first use, the
                    # first export, in each gunicorn worker and pool process
                    # (not in --smoke, which only checks that the section runs).
                    switched = _switch(bench, on=side == "on", receiver=receiver, ports=ports)
                    for _ in range(WARM_UP_JOBS if switched and p.mode != "smoke" else 0):
                        _job(bench, clip, settle=settle)
                    job, took, spent = _job(bench, clip, settle=settle)
                    seconds[side].append(took)
                    cpu[side].append(spent[0])
                    cpu_all[side].append(spent[1])
                    ids[side].append(str(job["video_id"]))
                    parts[side].append(_parts(job))
                    if side == "on":
                        _scraped(ports)
            _checked(receiver, ids)
        finally:  # the next section gets the stack as it was
            _switch(bench, on=False, receiver=receiver, ports=ports)
        spans, batches = len(receiver.received()), receiver.requests
    raw: dict[str, Any] = {**seconds, "cpu": cpu, "cpu_all": cpu_all, "parts": parts}
    raw |= {"spans": spans, "export_requests": batches}
    bench.raw["observability"] = raw
    return [
        compared(
            SECTION,
            f"upload → `ready` stored, lone job ({p.clip_seconds:g} s {w}×{h}, MP4 only), "
            f"traces (OTLP/HTTP to a local receiver) and metrics on vs off, alternating, "
            f"n={p.lone_repeats}",
            seconds["on"],
            seconds["off"],
            unit="s",
            baseline_note="the same job, no OTEL_* endpoint and no metrics ports",
            target=f"≤ {TARGET:.2f}",
            ok=lambda x: x <= TARGET,
        ),
        *(
            compared(
                SECTION,
                f"· {label}",
                [1000 * run[name] for run in parts["on"]],
                [1000 * run[name] for run in parts["off"]],
                unit="ms",
                digits=0,
            )
            for name, label in PARTS.items()
        ),
        compared(
            SECTION,
            "· CPU the service processes spend themselves per job (web, collector, worker;"
            f" ffmpeg excluded), over the job and the {settle:g} s after it, on vs off",
            cpu["on"],
            cpu["off"],
            unit="s",
        ),
        compared(
            SECTION,
            "· CPU per job, ffmpeg included (what a busy machine's other tenants barely move)",
            cpu_all["on"],
            cpu_all["off"],
            unit="s",
        ),
    ]
