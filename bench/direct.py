"""The baselines: a job's commands run by hand on a local file, without the system.

Two kinds of commands:
- a user's own: `plain_job`, the pipeline a person would type: ffprobe,
  one `ffmpeg … -preset veryfast -crf 23 … -movflags +faststart` with no
  -threads (ffmpeg decides), one poster frame;
- the worker's own: `worker_argv`, asked from the transcoder's code (see
  bench/worker_argv.py): the same argv lists the worker runs (its MP4 pass
  writes the poster too), for the breakdowns and for the ladder.

They run one after the other, at normal priority, with no download or upload:
the file is already on the local disk. `store_job` runs them as a person
would on another host, through the system's own store: the remote worker's
by-hand twin.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.support.stack import REPO

TRANSCODER_DIR = REPO / "transcoder_service"
TRANSCODER_PYTHON = TRANSCODER_DIR / ".venv" / "bin" / "python"
# Worker variables the bench sets per measurement; anything else in the
# caller's environment must not leak into a measurement.
WORKER_KNOBS = ("TRANSCODER_CONCURRENCY", "FFMPEG_THREADS", "FFMPEG_NICE", "PROGRESS_INTERVAL")
# -v error -y: a quiet log and a fresh output each run; no change to the work.
_FFMPEG = ["ffmpeg", "-v", "error", "-y"]


@dataclass(frozen=True)
class HandJob:
    """One job's commands: ffprobe, the encode, the poster (empty when the encode writes it)."""

    probe: list[str]
    transcode: list[str]
    poster: list[str]
    nice: int = 0
    # The worker's -threads (bench/worker_argv.py), or None for a user's commands.
    threads: int | None = None
    # The files it writes (plain_job's): what store_job uploads.
    outputs: tuple[Path, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)


def plain_job(
    source: Path, out_dir: Path, *, duration: float, threads: int | None = None
) -> HandJob:
    """What a user would type for the MP4 and a poster; `threads` adds `-threads N`."""
    threads_flag = [] if threads is None else ["-threads", str(threads)]
    return HandJob(
        probe=plain_probe(source),
        transcode=[
            *_FFMPEG,
            *["-i", str(source), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23"],
            *["-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart"],
            *threads_flag,
            str(out_dir / "720p.mp4"),
        ],
        poster=plain_poster(source, out_dir, duration=duration),
        threads=threads,
        outputs=(out_dir / "720p.mp4", out_dir / "poster.jpg"),
    )


def plain_probe(source: Path) -> list[str]:
    return ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(source)]


def plain_poster(source: Path, out_dir: Path, *, duration: float) -> list[str]:
    """A user's poster command: seek, one frame, a JPEG."""
    # Where the worker grabs its poster (commands.poster_time): 10 %, at most 10 s in.
    poster_at = round(min(duration * 0.1, 10.0), 3)
    return [
        *_FFMPEG,
        *["-ss", str(poster_at), "-i", str(source)],
        *["-frames:v", "1", "-q:v", "3", str(out_dir / "poster.jpg")],
    ]


def plain_ladder(
    source: Path, out_dir: Path, *, rungs: list[dict[str, Any]], audio: bool
) -> list[str]:
    """A user's one-command HLS ladder, as ffmpeg's own docs and most guides write it:
    `split` and `scale` per rung, `-var_stream_map`, 4 s fMP4 segments in VOD
    playlists, a keyframe at each segment boundary. The same rungs, x264
    preset, quality and rates as the worker's, so only the work they share is
    compared; nothing of the worker's own choices (no -threads, no frame-rate
    cap, no short first segments, no EVENT playlists, no storyboard)."""
    count = len(rungs)
    graph = f"[0:v]split={count}" + "".join(f"[s{i}]" for i in range(count)) + ";"
    graph += ";".join(f"[s{i}]scale={r['width']}:{r['height']}[v{i}]" for i, r in enumerate(rungs))
    argv = [*_FFMPEG, "-i", str(source), "-filter_complex", graph]
    argv += [arg for i in range(count) for arg in ("-map", f"[v{i}]")]
    argv += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    for i, rung in enumerate(rungs):
        argv += [f"-crf:v:{i}", str(rung["crf"]), f"-maxrate:v:{i}", rung["maxrate"]]
        argv += [f"-bufsize:v:{i}", rung["bufsize"]]
    argv += ["-force_key_frames", "expr:gte(t,n_forced*4)", "-sc_threshold", "0"]
    if audio:
        argv += [arg for _ in range(count) for arg in ("-map", "0:a:0")]
        argv += ["-c:a", "aac", "-ac", "2"]
        argv += [arg for i, r in enumerate(rungs) for arg in (f"-b:a:{i}", r["audio_bitrate"])]
    streams = " ".join(
        f"v:{i},a:{i},name:{r['name']}" if audio else f"v:{i},name:{r['name']}"
        for i, r in enumerate(rungs)
    )
    argv += ["-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod"]
    argv += ["-hls_segment_type", "fmp4", "-master_pl_name", "master.m3u8"]
    argv += ["-hls_segment_filename", str(out_dir / "%v" / "seg_%05d.m4s")]
    argv += ["-var_stream_map", streams, str(out_dir / "%v" / "index.m3u8")]
    return argv


def without_threads(argv: list[str]) -> list[str]:
    """`argv` minus every `-threads N` (decoder's and encoder's): ffmpeg then sizes itself,
    as a user's command would."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip or arg == "-threads":
            skip = not skip
            continue
        kept.append(arg)
    return kept


def worker_argv(source: Path, out_dir: Path, *, env: dict[str, str], profile: str) -> HandJob:
    """Ask the worker's own code (in its own venv) for its argv lists."""
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(TRANSCODER_PYTHON), "-m", "bench.worker_argv", str(source), str(out_dir)]
    argv += ["--profile", profile]
    child_env = {k: v for k, v in os.environ.items() if k not in WORKER_KNOBS}
    child_env.update(env)
    child_env["PYTHONPATH"] = f"{REPO}{os.pathsep}{TRANSCODER_DIR}"
    out = subprocess.run(
        argv, cwd=TRANSCODER_DIR, env=child_env, capture_output=True, text=True, check=True
    )
    raw = json.loads(out.stdout)
    return HandJob(
        **{k: raw[k] for k in ("probe", "transcode", "poster", "nice", "threads")}, raw=raw
    )


def direct_job(cmds: HandJob) -> dict[str, float]:
    """ffprobe, transcode, poster by hand, timed per stage (seconds)."""
    stages: dict[str, float] = {}
    start = time.perf_counter()
    steps = {"probe": cmds.probe, "transcode": cmds.transcode, "poster": cmds.poster}
    for stage, argv in steps.items():
        if not argv:
            continue
        mark = time.perf_counter()
        # stdout read through a pipe, as the worker reads it.
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        if proc.returncode != 0:
            error = proc.stderr.decode()[-500:]
            raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {error}")
        stages[stage] = time.perf_counter() - mark
    stages["total"] = time.perf_counter() - start
    return stages


def direct_batch(jobs: Sequence[HandJob], *, lanes: int) -> float:
    """Run whole jobs `lanes`-way parallel (like `xargs -P lanes`); the makespan in seconds."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        # Each lane takes the next job when its last one ends, as xargs does.
        list(pool.map(direct_job, jobs))
    return time.perf_counter() - start


def user_s3(env: Mapping[str, str], *, role: str) -> Any:
    """A boto3 client as a person would make one for the stack's store: the same
    endpoint, the keys of one service (`role`: WEB or TRANSCODER), every other
    setting boto3's default."""
    endpoint = env.get("S3_ENDPOINT_URL") or None
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=env.get("S3_REGION") or "us-east-1",
        aws_access_key_id=env[f"{role}_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env[f"{role}_S3_SECRET_ACCESS_KEY"],
        # Addressed as the services do: a local store by IP, so no bucket.host names.
        config=Config(s3={"addressing_style": "path" if endpoint else "virtual"}),
    )


def store_job(
    cmds: HandJob, *, source: Path, copy: Path, env: Mapping[str, str]
) -> dict[str, float]:
    """`cmds` (reading `copy`) as a person would run them on a remote host, timed per stage:
    `upload_file` of `source` into the store (the web's keys, under sources/),
    `download_file` of it to `copy` (the transcoder's keys), the commands, then
    `upload_file` of each of `cmds.outputs` (under outputs/). The objects are
    deleted afterwards, untimed."""
    sender, worker = user_s3(env, role="WEB"), user_s3(env, role="TRANSCODER")
    bucket, name = env["S3_BUCKET"], f"bench-hand-{uuid.uuid4().hex}"
    source_key = f"sources/{name}"
    output_keys = [f"outputs/{name}/{path.name}" for path in cmds.outputs]
    stages: dict[str, float] = {}
    start = time.perf_counter()
    sender.upload_file(str(source), bucket, source_key)
    stages["upload_source"] = time.perf_counter() - start
    mark = time.perf_counter()
    worker.download_file(bucket, source_key, str(copy))
    stages["download"] = time.perf_counter() - mark
    stages.update({k: v for k, v in direct_job(cmds).items() if k != "total"})
    mark = time.perf_counter()
    for path, key in zip(cmds.outputs, output_keys, strict=True):
        worker.upload_file(str(path), bucket, key)
    stages["upload_outputs"] = time.perf_counter() - mark
    stages["total"] = time.perf_counter() - start
    sender.delete_object(Bucket=bucket, Key=source_key)
    worker.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in output_keys]})
    return stages
