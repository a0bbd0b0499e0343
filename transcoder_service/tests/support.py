"""Helpers shared by the tests (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transcoder import pipeline
from transcoder.media.runner import ProcessLimits
from transcoder.objectstore import ObjectStore
from transcoder.payload import ConvertRequest
from transcoder.settings import Settings, load_settings

from .seaweed import SeaweedStore

SERVICE_DIR = Path(__file__).resolve().parent.parent

# The worker's defaults (transcoder/settings.py), for tests that run
# ffmpeg or ffprobe without a Settings object.
PROCESS_LIMITS = ProcessLimits(
    nice=0, memory_limit_bytes=3072 * 1024**2, probe_timeout=60.0, max_pixels=8192 * 4320
)

# The keys of a SUCCESS result's "timings" (docs/messages.md).
TIMINGS = {"download", "probe", "transcode", "poster", "verify", "upload"}


def ffmpeg_pid_lines(caplog: Any) -> list[str]:
    """The "ffmpeg pid=" lines logged: one per ffmpeg started."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.getMessage().startswith("ffmpeg pid=")
    ]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=120)


def video_input(size: str, seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]


def audio_input(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]


@dataclass(frozen=True)
class Clips:
    """Generated source files; names are relative to `directory`."""

    directory: Path
    clip: str = "clip.mp4"  # 2 s, 320x240, H.264 + AAC
    silent: str = "silent.mp4"  # 2 s, 320x240, no audio
    odd: str = "odd.mp4"  # 1 s, 321x241 (stored as yuv444p: 4:2:0 cannot be odd)
    portrait: str = "portrait.mp4"  # 1 s, stored 320x240, rotated 90 degrees
    full_hd: str = "full_hd.mp4"  # 1 s, 1920x1080, with audio
    audio_only: str = "audio_only.m4a"  # 1 s of sine, no video
    cover_art: str = "cover_art.mp3"  # audio with an attached picture
    raw_h264: str = "raw.h264"  # a raw stream, which has no duration
    still: str = "still.jpg"  # a single picture
    text: str = "notes.txt"  # not media at all


def source_put(store: SeaweedStore, path: Path, *, key: str | None = None) -> str:
    """Upload `path` as the web does (with the web's key); return its source key.

    The key is unique unless given, so tests sharing the session's bucket
    never see each other's sources.
    """
    key = key or f"sources/{uuid.uuid4().hex[:12]}/{path.name}"
    store.client(store.web).upload_file(Filename=str(path), Bucket=store.bucket, Key=key)
    return key


def new_job_id(label: str = "job") -> str:
    """A job_id no other test of the session uses (they share one bucket)."""
    return f"{label}-{uuid.uuid4().hex[:12]}"


def make_settings(store: SeaweedStore, scratch_dir: Path, **overrides: str) -> Settings:
    environ = {
        **store.transcoder_env(),
        "SCRATCH_DIR": str(scratch_dir),
        "PROGRESS_INTERVAL": "0",
        **overrides,
    }
    return load_settings(environ=environ)


def keys_under(store: SeaweedStore, prefix: str) -> dict[str, int]:
    """Every object under `prefix`, with its size, read with the transcoder's key."""
    client = store.client(store.transcoder)
    found: dict[str, int] = {}
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=store.bucket, Prefix=prefix
    ):
        found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return found


def object_bytes(store: SeaweedStore, key: str) -> bytes:
    body: bytes = (
        store.client(store.transcoder).get_object(Bucket=store.bucket, Key=key)["Body"].read()
    )
    return body


def convert(
    settings: Settings,
    store: ObjectStore,
    source_key: str,
    *,
    job_id: str,
    profiles: tuple[str, ...] = ("720p",),
    progress: list[tuple[str, int]] | None = None,
) -> dict[str, Any]:
    """Run one delivery of a job through the real pipeline; collect its progress."""
    sink = progress if progress is not None else []

    def on_progress(*, stage: str, percent: int) -> None:
        sink.append((stage, percent))

    request = ConvertRequest(
        job_id=job_id, source_key=source_key, profiles=profiles, contract_version=2
    )
    return pipeline.convert(
        request=request, store=store, on_progress=on_progress, settings=settings
    )


def children_of(pid: int) -> list[int]:
    """The live (not zombie) processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Format: pid (comm) state ppid ...; comm may contain spaces.
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry.name))
    return found


def ffmpeg_children() -> list[int]:
    """PIDs of live ffmpeg processes whose parent is this test process."""
    found = []
    for child in children_of(os.getpid()):
        try:
            if Path(f"/proc/{child}/comm").read_text().strip() == "ffmpeg":
                found.append(child)
        except OSError:  # exited meanwhile
            continue
    return found


def scratch_entries(scratch_dir: Path) -> list[str]:
    """What is left in a scratch folder (nothing, once every attempt has ended)."""
    if not scratch_dir.exists():
        return []
    return sorted(entry.name for entry in scratch_dir.iterdir())


# SIGTERM raises SystemExit, as billiard makes it do in a pool process.
_ATTEMPT_HOLDER = """
import signal, sys, time
from pathlib import Path
from typing import Any
from transcoder.scratch import attempt_folder
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
with attempt_folder(scratch_dir=Path(sys.argv[1]), name=sys.argv[2]) as folder:
    (folder / "source.mp4").write_bytes(b"half a download")
    print("ready", flush=True)
    time.sleep(600)
"""


def start_attempt(scratch_dir: Path, name: str) -> subprocess.Popen[str]:
    """A process inside attempt_folder(name), as a pool process is mid-job.

    SIGKILL it to get what a dead attempt leaves; the caller must reap it.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", _ATTEMPT_HOLDER, str(scratch_dir), name],
        cwd=SERVICE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process
