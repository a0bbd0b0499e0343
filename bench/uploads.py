"""3. Uploads: a 1 GiB file of random bytes through `POST /api/videos/`,
against a raw boto3 upload of the same file to the same store, in turns.

- memory: the RSS of the whole web process tree (gunicorn master + workers,
  from /proc every 20 ms) at its peak during the upload, minus just before.
  The web streams the body into an S3 multipart upload, so this stays flat
  whatever the file's size.
- throughput: curl (multipart, `Expect:` off) → the API, which streams it on
  to the store, against what a user would run by hand: boto3's `upload_file`
  of the same file to the same endpoint, with the web's credentials and
  boto3's default TransferConfig (8 MiB parts, 10 threads). Both are file
  bytes ÷ wall seconds until the upload completed (the API's 201 comes after
  the store has the object). They take turns to go first.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from bench.direct import user_s3
from bench.harness import Bench, curl_upload, rounds_rotated, rss_growth, tree
from bench.table import Row, compared, fmt, verdict

MIB = 1024 * 1024


def make_file(path: Path, *, size: int) -> Path:
    if not path.exists() or path.stat().st_size != size:
        with open(path, "wb") as out:
            for offset in range(0, size, 16 * MIB):  # in chunks: a GiB need not fit in memory
                out.write(os.urandom(min(16 * MIB, size - offset)))
    return path


def boto3_seconds(bench: Bench, path: Path) -> float:
    """One boto3 `upload_file` of `path` as a user would run it against the web's
    store: the same endpoint, the web's own keys, everything else boto3's default."""
    env = bench.stack.processes["web"].env
    s3 = user_s3(env, role="WEB")
    # Under sources/, the one prefix the web's credentials may write (and delete).
    bucket, key = env["S3_BUCKET"], f"sources/bench-boto3-{uuid.uuid4().hex}"
    start = time.perf_counter()
    s3.upload_file(str(path), bucket, key)
    seconds = time.perf_counter() - start
    s3.delete_object(Bucket=bucket, Key=key)
    return seconds


def run(bench: Bench) -> list[Row]:
    p = bench.params
    bench.worker()
    big = make_file(bench.workdir / "upload.bin", size=p.upload_bytes)
    web_pid = bench.stack.processes["web"].pid
    headers = bench.api.headers()
    api_rate: list[float] = []
    raw_rate: list[float] = []
    growth: list[float] = []

    def api_once() -> None:
        with rss_growth(tree(web_pid)) as peak:
            code, seconds, body = curl_upload(
                f"{bench.stack.base_url}/api/videos/", big, headers=headers, title="bench upload"
            )
        if code != 201:
            raise RuntimeError(f"API upload answered {code}: {body[:300]}")
        api_rate.append(p.upload_bytes / seconds / MIB)
        growth.append(peak[0] / MIB)
        # Random bytes are not a video: the worker refuses it quickly.
        bench.wait_final([json.loads(body)["id"]], timeout=300)

    def raw_once() -> None:
        raw_rate.append(p.upload_bytes / boto3_seconds(bench, big) / MIB)

    try:
        for order in rounds_rotated([api_once, raw_once], repeats=p.upload_repeats):
            for step in order:
                step()
    finally:
        big.unlink(missing_ok=True)
    bench.raw["uploads"] = {"api_MiBps": api_rate, "boto3_MiBps": raw_rate, "rss_MiB": growth}
    gib = p.upload_bytes / 1024**3
    size = f"{gib:g} GiB" if gib >= 1 else f"{p.upload_bytes / MIB:.0f} MiB"
    return [
        Row(
            "3",
            f"upload {size} random bytes: web RSS peak growth (master+workers), n={len(growth)}",
            fmt(growth, "MiB", digits=1),
            target="≤ 64 MiB",
            met=verdict(growth, lambda x: x <= 64),
        ),
        compared(
            "3",
            "upload throughput: curl → API → store vs boto3 `upload_file` → store",
            api_rate,
            raw_rate,
            unit="MiB/s",
            digits=0,
            baseline_note="same endpoint, web's keys, default config",
            target="≥ 0.80",
            ok=lambda x: x >= 0.8,
        ),
    ]
