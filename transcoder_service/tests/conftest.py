"""Shared fixtures: tiny media files made with ffmpeg at test time, and a real S3 store.

No media is committed to the repository: every clip is generated once per
test session from ffmpeg's built-in test sources (lavfi `testsrc2`, `sine`),
and uploaded once, with the web's key, to the session's SeaweedFS
(tests/seaweed.py). Tests share that bucket, so each uses its own job_id.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from transcoder.objectstore import ObjectStore, store_connect
from transcoder.settings import Settings, get_settings

from .broker import Caller, throwaway_vhost
from .seaweed import SeaweedStore, seaweed_running
from .support import (
    Clips,
    audio_input,
    ffmpeg,
    make_settings,
    new_job_id,
    source_put,
    video_input,
)


def pytest_configure(config: pytest.Config) -> None:
    # Importing transcoder.worker reads the settings, which require a bucket
    # and a key pair. These placeholders only let modules import; every test
    # that talks to a store gets the session's real one from a fixture.
    for name in ("S3_BUCKET", "TRANSCODER_S3_ACCESS_KEY_ID", "TRANSCODER_S3_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "set-by-a-fixture")


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    directory = tmp_path_factory.mktemp("clips")
    c = Clips(directory=directory)
    h264 = ["-c:v", "libx264", "-preset", "ultrafast"]
    aac = ["-c:a", "aac", "-shortest"]
    ffmpeg(*video_input("320x240", 2), *audio_input(2), *h264, *aac, str(directory / c.clip))
    ffmpeg(*video_input("320x240", 2), *h264, str(directory / c.silent))
    # testsrc2 rounds its size down to even numbers, so scale to the odd size.
    odd = ("-vf", "scale=321:241", "-pix_fmt", "yuv444p")
    ffmpeg(*video_input("320x240", 1), *h264, *odd, str(directory / c.odd))
    plain = directory / "plain.mp4"
    ffmpeg(*video_input("320x240", 1), *h264, str(plain))
    # Phones store landscape frames plus a display rotation; ffmpeg 5.1 sets
    # it from the `rotate` tag when copying the stream.
    rotate = ["-c", "copy", "-metadata:s:v:0", "rotate=90"]
    ffmpeg("-i", str(plain), *rotate, str(directory / c.portrait))
    ffmpeg(*video_input("1920x1080", 1), *audio_input(1), *h264, *aac, str(directory / c.full_hd))
    ffmpeg(*audio_input(1), "-c:a", "aac", str(directory / c.audio_only))
    cover = directory / "cover.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64", "-frames:v", "1", str(cover))
    ffmpeg(
        *audio_input(1),
        "-i",
        str(cover),
        *("-map", "0", "-map", "1", "-c:a", "libmp3lame", "-c:v", "mjpeg"),
        *("-disposition:v", "attached_pic"),
        str(directory / c.cover_art),
    )
    ffmpeg(*video_input("320x240", 1), *h264, "-f", "h264", str(directory / c.raw_h264))
    ffmpeg(*video_input("320x240", 1), "-frames:v", "1", str(directory / c.still))
    (directory / c.text).write_text("These are meeting notes, not a video.\n")
    return c


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s at 640x360: takes a few seconds to transcode, long enough to interrupt."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    ffmpeg(*video_input("640x360", 30), "-c:v", "libx264", "-preset", "ultrafast", str(path))
    return path


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedStore]:
    """This session's own `weed mini`, stopped by its pid at the end."""
    with seaweed_running(tmp_path_factory.mktemp("seaweed")) as store:
        yield store


@pytest.fixture(scope="session")
def sources(seaweed: SeaweedStore, clips: Clips) -> dict[str, str]:
    """The source key of every generated clip, by file name, uploaded once."""
    return {
        name: source_put(seaweed, clips.directory / name)
        for name in vars(clips).values()
        if isinstance(name, str)
    }


@pytest.fixture
def scratch_dir(tmp_path: Path) -> Path:
    return tmp_path / "scratch"


@pytest.fixture
def settings(seaweed: SeaweedStore, scratch_dir: Path) -> Settings:
    return make_settings(seaweed, scratch_dir)


@pytest.fixture
def store(settings: Settings) -> ObjectStore:
    """The transcoder's adapter, with the transcoder's own key."""
    return store_connect(settings=settings)


@pytest.fixture
def job_id() -> str:
    return new_job_id()


@pytest.fixture
def worker_env(
    monkeypatch: pytest.MonkeyPatch, seaweed: SeaweedStore, scratch_dir: Path
) -> Iterator[Path]:
    """Point the process-wide settings (what tasks read) at the session's store."""
    for name, value in seaweed.transcoder_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SCRATCH_DIR", str(scratch_dir))
    monkeypatch.setenv("PROGRESS_INTERVAL", "0")
    monkeypatch.setenv("STORAGE_RETRY_DELAY", "0")
    get_settings.cache_clear()
    yield scratch_dir
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    """A throwaway RabbitMQ vhost for the module's worker (tests/broker.py)."""
    with throwaway_vhost() as url:
        yield url


@pytest.fixture(scope="module")
def caller(broker_url: str, worker: object) -> Iterator[Caller]:
    """The web's side of the contract; `worker` is each broker module's own fixture."""
    caller = Caller(broker_url)
    try:
        yield caller
    finally:
        caller.close()
