"""3. Uploads: a 1 GiB file of random bytes through `POST /api/videos/`.

- memory: the RSS of the whole web process tree (gunicorn master + workers,
  from /proc every 20 ms) at its peak during the upload, minus just before.
- throughput: the same curl command (multipart, `Expect:` off) against the
  API and against a stdlib sink that only reads (bench/sink.py), in turns.
  For context, the same sink also writing the body to a file next to
  MEDIA_ROOT: the disk's share, which the web cannot avoid.
- moved, not copied: the inode of the temporary upload file seen in
  MEDIA_ROOT/incoming while it grows must be the inode of the stored source;
  the disk's peak extra usage during the request is shown too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.harness import Bench
from bench.procfs import Sampler, rss_bytes, tree
from bench.table import Row, fmt, ratios, verdict
from tests.support.stack import REPO, free_port

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


def curl_upload(url: str, path: Path, headers: dict[str, str]) -> tuple[int, float, float, str]:
    """(http code, seconds, bytes sent, body) for one multipart upload with curl."""
    argv = [
        "curl",
        "-sS",
        "-o",
        "-",
        "-w",
        "\n%{http_code} %{time_total} %{size_upload}",
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
    code, seconds, sent = stats.split()
    return int(code), float(seconds), float(sent), body


def run(bench: Bench) -> list[Row]:
    p = bench.params
    bench.worker()
    big = make_file(bench.workdir / "upload.bin", p.upload_bytes)
    port, disk_port = free_port(), free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.sink", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    disk_sink = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.sink",
            str(disk_port),
            str(Path(bench.media_root) / "bench-sink"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    web_pid = bench.stack.processes["web"].pid
    incoming = Path(bench.media_root) / "incoming"
    token = bench.api._csrf_token()
    headers = {
        "X-CSRFToken": token,
        "Referer": bench.stack.base_url + "/",
        "Cookie": f"csrftoken={token}",
    }
    api_rate, sink_rate, disk_rate, growth, disk_growth, moved = [], [], [], [], [], []
    try:
        for proc in (sink, disk_sink):
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

        def api_once() -> None:
            pids = tree(web_pid)
            before = rss_bytes(pids)
            disk_before = shutil.disk_usage(incoming).used
            peak = {"rss": before, "disk": disk_before}
            inodes: set[int] = set()

            def sample() -> None:
                peak["rss"] = max(peak["rss"], rss_bytes(pids))
                peak["disk"] = max(peak["disk"], shutil.disk_usage(incoming).used)
                try:
                    for entry in os.scandir(incoming):
                        inodes.add(entry.inode())
                except OSError:
                    pass

            sampler = Sampler(sample, 0.02)
            sampler.start()
            try:
                code, seconds, sent, body = curl_upload(
                    f"{bench.stack.base_url}/api/videos/", big, headers
                )
            finally:
                sampler.stop()
            if code != 201:
                raise RuntimeError(f"API upload answered {code}: {body[:300]}")
            video_id = json.loads(body)["id"]
            stored = Path(bench.media_root) / "sources" / video_id
            api_rate.append(sent / seconds / MIB)
            growth.append((peak["rss"] - before) / MIB)
            disk_growth.append((peak["disk"] - disk_before) / MIB)
            moved.append(stored.stat().st_ino in inodes)
            # Random bytes are not a video: the worker refuses it quickly.
            bench.wait_final([video_id], timeout=300)
            stored.unlink(missing_ok=True)

        def sink_once(at: int = port, into: list[float] = sink_rate) -> None:
            code, seconds, sent, _ = curl_upload(f"http://127.0.0.1:{at}/", big, {})
            if code != 200:
                raise RuntimeError(f"sink answered {code}")
            into.append(sent / seconds / MIB)

        def disk_sink_once() -> None:
            sink_once(disk_port, disk_rate)

        steps = [api_once, sink_once, disk_sink_once]
        for i in range(p.upload_repeats):
            for step in steps[i % 3 :] + steps[: i % 3]:
                step()
    finally:
        for proc in (sink, disk_sink):
            proc.terminate()
            proc.wait(timeout=10)
        big.unlink(missing_ok=True)
    bench.raw["uploads"] = {
        "api_MiBps": api_rate,
        "sink_MiBps": sink_rate,
        "disk_sink_MiBps": disk_rate,
        "rss_growth_MiB": growth,
        "disk_growth_MiB": disk_growth,
        "moved": moved,
    }
    r = ratios(api_rate, sink_rate)
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
            "upload throughput (curl → API vs curl → stdlib sink)",
            fmt(api_rate, "MiB/s", digits=0),
            fmt(sink_rate, "MiB/s", digits=0),
            fmt(r),
            "≥ 0.50",
            verdict(r, lambda x: x >= 0.5),
        ),
        Row(
            "3",
            "· vs the same sink also writing the body to disk (MEDIA_ROOT's file system)",
            fmt(api_rate, "MiB/s", digits=0),
            fmt(disk_rate, "MiB/s", digits=0),
            fmt(ratios(api_rate, disk_rate)),
        ),
        Row(
            "3",
            "· stored by rename (temp inode = stored inode); peak extra disk during request",
            f"{sum(moved)}/{len(moved)} renamed; {fmt(disk_growth, 'MiB', digits=0)}",
            f"{size} = 1 copy",
        ),
    ]
