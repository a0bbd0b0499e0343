"""3. Uploads: a 1 GiB file of random bytes through `POST /api/videos/`,
against a raw boto3 upload of the same file to the same store, in turns.

- memory: the RSS of the whole web process tree (gunicorn master + workers,
  from /proc every 20 ms) at its peak during the upload, minus just before.
  The web streams the body into an S3 multipart upload, so this stays flat
  whatever the file's size.
- throughput: curl (multipart, `Expect:` off) → the API, which streams it on
  to the store, against what a user would run by hand: boto3's `upload_file`
  of the same file to the same endpoint, with the web's credentials and
  boto3's default TransferConfig (8 MiB parts, 10 threads). Which goes first
  alternates. Both are file bytes ÷ wall seconds until the upload completed
  (the API's 201 comes after the store has the object).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

from bench.harness import Bench
from bench.procfs import Sampler, rss_bytes, tree
from bench.table import Row, fmt, ratios, verdict

MIB = 1024 * 1024


def make_file(path: Path, size: int) -> Path:
    if not path.exists() or path.stat().st_size != size:
        with open(path, "wb") as out:
            left = size
            while left:
                chunk = os.urandom(min(16 * MIB, left))
                out.write(chunk)
                left -= len(chunk)
    return path


def web_s3(bench: Bench) -> tuple[object, str]:
    """A plain boto3 client as the web reaches the store (same endpoint, the
    web's own credentials, everything else boto3's default), and the bucket."""
    env = bench.stack.processes["web"].env
    endpoint = env.get("S3_ENDPOINT_URL") or None
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=env.get("S3_REGION") or "us-east-1",
        aws_access_key_id=env["WEB_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["WEB_S3_SECRET_ACCESS_KEY"],
        # Addressed as the web does: a local store by IP, so no bucket.host names.
        config=Config(s3={"addressing_style": "path" if endpoint else "virtual"}),
    )
    return client, env["S3_BUCKET"]


def curl_upload(url: str, path: Path, headers: dict[str, str]) -> tuple[int, float, str]:
    """(http code, seconds, body) for one multipart upload with curl."""
    argv = [
        "curl",
        "-sS",
        "-o",
        "-",
        "-w",
        "\n%{http_code} %{time_total}",
        "-H",
        "Expect:",
        "-F",
        f"file=@{path};filename=big.bin;type=application/octet-stream",
        "-F",
        "title=bench upload",
    ]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    out = subprocess.run(
        [*argv, url], capture_output=True, text=True, check=True, timeout=900
    ).stdout
    body, _, stats = out.rpartition("\n")
    code, seconds = stats.split()
    return int(code), float(seconds), body


def run(bench: Bench) -> list[Row]:
    p = bench.params
    bench.worker()
    big = make_file(bench.workdir / "upload.bin", p.upload_bytes)
    web_pid = bench.stack.processes["web"].pid
    headers = bench.api.headers()
    s3, bucket = web_s3(bench)
    api_rate: list[float] = []
    raw_rate: list[float] = []
    growth: list[float] = []

    def api_once() -> None:
        pids = tree(web_pid)
        before = rss_bytes(pids)
        peak = {"rss": before}

        def sample() -> None:
            peak["rss"] = max(peak["rss"], rss_bytes(pids))

        sampler = Sampler(sample, 0.02)
        sampler.start()
        try:
            code, seconds, body = curl_upload(f"{bench.stack.base_url}/api/videos/", big, headers)
        finally:
            sampler.stop()
        if code != 201:
            raise RuntimeError(f"API upload answered {code}: {body[:300]}")
        api_rate.append(p.upload_bytes / seconds / MIB)
        growth.append((peak["rss"] - before) / MIB)
        # Random bytes are not a video: the worker refuses it quickly.
        bench.wait_final([json.loads(body)["id"]], timeout=300)

    def raw_once() -> None:
        # Under sources/, the one prefix the web's credentials may write (and delete).
        key = f"sources/bench-boto3-{uuid.uuid4().hex}"
        start = time.perf_counter()
        s3.upload_file(str(big), bucket, key)
        raw_rate.append(p.upload_bytes / (time.perf_counter() - start) / MIB)
        s3.delete_object(Bucket=bucket, Key=key)

    try:
        for i in range(p.upload_repeats):
            for step in (api_once, raw_once) if i % 2 == 0 else (raw_once, api_once):
                step()
    finally:
        big.unlink(missing_ok=True)
    bench.raw["uploads"] = {"api_MiBps": api_rate, "boto3_MiBps": raw_rate, "rss_MiB": growth}
    r = ratios(api_rate, raw_rate)
    size = (
        f"{p.upload_bytes / MIB:.0f} MiB"
        if p.upload_bytes < 1024**3
        else f"{p.upload_bytes / 1024**3:g} GiB"
    )
    return [
        Row(
            "3",
            f"upload {size} random bytes: web RSS peak growth (master+workers), n={len(growth)}",
            fmt(growth, "MiB", digits=1),
            "—",
            "—",
            "≤ 64 MiB",
            verdict(growth, lambda x: x <= 64),
        ),
        Row(
            "3",
            "upload throughput: curl → API → store vs boto3 `upload_file` → store",
            fmt(api_rate, "MiB/s", digits=0),
            fmt(raw_rate, "MiB/s", digits=0) + " (same endpoint, web's keys, default config)",
            fmt(r),
            "≥ 0.80",
            verdict(r, lambda x: x >= 0.8),
        ),
    ]
