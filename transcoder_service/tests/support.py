"""Helpers shared by the tests (fixtures are in conftest.py)."""

from __future__ import annotations

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

# docs/messages.md, as literals: a SUCCESS result's fields in order, the keys
# of its "timings", the stages a job reports in order, and the `exc_type`
# codes of a FAILURE.
RESULT_FIELDS = (
    "contract_version",
    "job_id",
    "source",
    "outputs",
    "poster_key",
    "manifest_key",
    "elapsed_seconds",
    "timings",
)
TIMINGS = {"download", "probe", "transcode", "poster", "verify", "upload"}
# ...plus one "encode:<n>:<pass>" per encode pass (its MP4 profile, or "hls"
# for the ladder's), n counting the passes from 1 in the order they ran.
STAGES = ("downloading", "probing", "transcoding", "poster", "uploading")
FAILURE_CODES = (
    "InvalidPayload",
    "InvalidMedia",
    "TranscodeFailed",
    "TranscodeTimeout",
    "StorageDenied",
    "StorageError",
    "WorkerCrashed",
)


def ffmpeg_pid_lines(caplog: Any) -> list[str]:
    """The "ffmpeg pid=" lines logged: one per ffmpeg started."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.getMessage().startswith("ffmpeg pid=")
    ]


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


def progress_stages(progress: list[tuple[str, int]]) -> tuple[str, ...]:
    """The stages a job reported, each once, in the order they came."""
    stages = [stage for stage, _ in progress]
    return tuple(stage for i, stage in enumerate(stages) if i == 0 or stages[i - 1] != stage)


@dataclass(frozen=True)
class PipelineJob:
    """One job_id, run through the real pipeline against the session's store."""

    settings: Settings
    store: ObjectStore
    seaweed: SeaweedStore
    job_id: str

    def convert(
        self,
        source_key: str,
        *,
        profiles: tuple[str, ...] = ("720p",),
        progress: list[tuple[str, int]] | None = None,
        previews: list[dict[str, Any]] | None = None,
        settings: Settings | None = None,
    ) -> dict[str, Any]:
        """One delivery of this job; `settings` replaces the test's own (for stricter limits).

        Progress reports are appended to `progress`, as (stage, percent),
        and the `preview` of those that carry one to `previews`.
        """
        sink = progress if progress is not None else []

        def on_progress(*, stage: str, percent: int, preview: dict[str, Any] | None = None) -> None:
            sink.append((stage, percent))
            if preview is not None and previews is not None:
                previews.append(preview)

        request = ConvertRequest(
            job_id=self.job_id, source_key=source_key, profiles=profiles, contract_version=2
        )
        return pipeline.convert(
            request=request,
            store=self.store,
            on_progress=on_progress,
            settings=settings or self.settings,
        )

    def stored(self) -> dict[str, int]:
        """Every object of this job in the store, with its size."""
        return keys_under(self.seaweed, f"outputs/{self.job_id}/")

    def download(self, key: str, *, directory: Path) -> Path:
        """Fetch one object into `directory`, as a player would, to read it with ffprobe."""
        path = directory / key.replace("/", "_")
        path.write_bytes(object_bytes(self.seaweed, key))
        return path


def scratch_entries(scratch_dir: Path) -> list[str]:
    """What is left in a scratch folder (nothing, once every attempt has ended)."""
    if not scratch_dir.exists():
        return []
    return sorted(entry.name for entry in scratch_dir.iterdir())


# A pool process mid-job: its attempt folder, a half-downloaded source and, if
# argv[3] says so, an encoding slot. SIGTERM raises SystemExit, as billiard
# makes it do in a pool process, so its own cleanup runs. It waits on its
# stdin pipe, not in a long sleep: it also ends (cleanly) when the test closes
# that pipe or dies, so no holder can outlive its test by ten minutes.
_ATTEMPT_HOLDER = """
import contextlib, signal, sys
from pathlib import Path
from transcoder.scratch import attempt_folder
from transcoder.slots import encoding_slot
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
with attempt_folder(scratch_dir=Path(sys.argv[1]), name=sys.argv[2]) as folder:
    (folder / "source.mp4").write_bytes(b"half a download")
    encoding = sys.argv[3] == "encoding"
    with encoding_slot(folder=folder) if encoding else contextlib.nullcontext():
        print("ready", flush=True)
        sys.stdin.read()
"""


def attempt_start(*, scratch_dir: Path, name: str, encoding: bool = False) -> subprocess.Popen[str]:
    """A process inside attempt_folder(name), as a pool process is mid-job.

    A real process, not a thread: a flock belongs to its holder's open file,
    and the kernel drops it when the holder dies, however it dies. SIGKILL it
    to get what a dead attempt leaves; the caller must reap it.
    """
    stage = "encoding" if encoding else "downloading"
    process = subprocess.Popen(
        [sys.executable, "-c", _ATTEMPT_HOLDER, str(scratch_dir), name, stage],
        cwd=SERVICE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


def attempt_stop(process: subprocess.Popen[str], *, timeout: float = 30) -> None:
    """SIGTERM a holder, as billiard stops a pool process, and wait a bounded time.

    A holder that ignores its SIGTERM fails the test here, with its pid,
    instead of hanging the suite.
    """
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        process.kill()
        process.wait(timeout=timeout)
        message = f"attempt holder {process.pid} ignored SIGTERM for {timeout} s"
        raise AssertionError(message) from expired


def attempt_kill(process: subprocess.Popen[str], *, timeout: float = 30) -> None:
    """SIGKILL a holder (no finally, no cleanup: like the OOM killer) and reap it."""
    process.kill()
    process.wait(timeout=timeout)


class AttemptHolders:
    """Attempt-holding processes of one test, killed and reaped when it ends."""

    def __init__(self, *, scratch_dir: Path) -> None:
        self.scratch_dir = scratch_dir
        self._started: list[subprocess.Popen[str]] = []

    def start(self, *, name: str, encoding: bool = False) -> subprocess.Popen[str]:
        process = attempt_start(scratch_dir=self.scratch_dir, name=name, encoding=encoding)
        self._started.append(process)
        return process

    def close(self) -> None:
        for process in self._started:
            if process.stdin is not None:
                process.stdin.close()  # a holder still waiting ends cleanly
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
