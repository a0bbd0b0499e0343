"""Shared fixtures: tiny media files made with ffmpeg at test time, and media roots.

No media is committed to the repository: every clip is generated once per
test session from ffmpeg's built-in test sources (lavfi `testsrc2`, `sine`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from transcoder.settings import Settings, get_settings

from .broker import Caller, throwaway_vhost
from .support import Clips, add_source, audio_input, ffmpeg, make_settings, video_input


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


@pytest.fixture
def media_root(tmp_path: Path, clips: Clips) -> Path:
    """A fresh media root holding every generated clip under sources/."""
    root = tmp_path / "media"
    for name in vars(clips).values():
        if isinstance(name, str):
            add_source(root, clips.directory / name)
    return root


@pytest.fixture
def settings(media_root: Path) -> Settings:
    return make_settings(media_root)


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch, media_root: Path) -> Iterator[Path]:
    """Point the process-wide settings (what tasks read) at the test media root."""
    monkeypatch.setenv("MEDIA_ROOT", str(media_root))
    monkeypatch.setenv("PROGRESS_INTERVAL", "0")
    get_settings.cache_clear()
    yield media_root
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
