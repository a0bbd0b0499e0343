from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from transcoder.errors import InvalidMedia, TranscodeFailed
from transcoder.media.probe import SourceInfo, probe_source
from transcoder.media.storyboard import storyboard_plan
from transcoder.media.verify import (
    RenditionInfo,
    poster_written,
    verify_poster,
    verify_rendition,
    verify_storyboard,
)

from ..clips import Clips, ffmpeg, video
from ..support import PROCESS_LIMITS


def rendition_verify(
    path: Path, *, source: SourceInfo, width: int = 320, height: int = 240
) -> RenditionInfo:
    """verify_rendition on a 720p rendition planned as 4:2:0 (what the encoder asks for)."""
    return verify_rendition(
        path,
        limits=PROCESS_LIMITS,
        label="720p",
        width=width,
        height=height,
        pix_fmt="yuv420p",
        source=source,
    )


def test_rendition_as_planned(clips: Clips) -> None:
    path = clips.path(clips.clip)
    checked = rendition_verify(path, source=probe_source(path, limits=PROCESS_LIMITS))
    assert (checked.width, checked.height, checked.audio_codec) == (320, 240, "aac")


def test_a_pixel_format_browsers_cannot_play_is_caught(clips: Clips) -> None:
    path = clips.path(clips.odd)  # 4:4:4, still "h264"
    with pytest.raises(TranscodeFailed) as caught:
        rendition_verify(
            path, source=probe_source(path, limits=PROCESS_LIMITS), width=321, height=241
        )
    assert caught.value.message == (
        "The 720p rendition came out wrong: its pixel format is yuv444p instead of yuv420p."
    )


def test_a_rendition_much_shorter_than_its_source_means_a_damaged_source(clips: Clips) -> None:
    path = clips.path(clips.clip)
    announced = dataclasses.replace(probe_source(path, limits=PROCESS_LIMITS), duration=10.0)
    with pytest.raises(InvalidMedia) as caught:
        rendition_verify(path, source=announced)
    assert caught.value.message == (
        "The video stops after 2.0 s of the 10.0 s it announces; the file is cut short or damaged."
    )


def test_a_little_drift_is_not_damage(clips: Clips) -> None:
    path = clips.path(clips.clip)
    # Containers round differently, and audio may run past the last frame.
    announced = dataclasses.replace(probe_source(path, limits=PROCESS_LIMITS), duration=2.9)
    rendition_verify(path, source=announced)


def test_poster_written(tmp_path: Path) -> None:
    assert not poster_written(tmp_path / "absent.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert not poster_written(tmp_path / "empty.jpg")
    (tmp_path / "poster.jpg").write_bytes(b"\xff\xd8\xff")
    assert poster_written(tmp_path / "poster.jpg")


def picture(path: Path, *, size: str = "320x240", codec: str = "mjpeg") -> Path:
    ffmpeg(*video(size=size), "-frames:v", "1", "-c:v", codec, "-f", "image2", str(path))
    return path


def test_a_poster_is_a_whole_jpeg(tmp_path: Path) -> None:
    verify_poster(picture(tmp_path / "poster.jpg"))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: path.write_bytes(b""), "ffmpeg wrote no picture"),
        (lambda path: path.write_text("not a picture"), "the picture is not a readable JPEG"),
        (lambda path: picture(path, codec="png"), "the picture is not a readable JPEG"),
        # Cut off half-way: the header is fine, the picture is not.
        (
            lambda path: path.write_bytes(picture(path).read_bytes()[: path.stat().st_size // 2]),
            "the picture is not a readable JPEG",
        ),
    ],
    ids=["empty", "text", "png", "cut-off"],
)
def test_a_bad_poster_fails_the_job(
    tmp_path: Path, make: Callable[[Path], object], reason: str
) -> None:
    path = tmp_path / "poster.jpg"
    make(path)
    with pytest.raises(TranscodeFailed) as caught:
        verify_poster(path)
    assert caught.value.message == f"The poster could not be made: {reason}."


def test_a_storyboard_is_a_jpeg_of_the_planned_size(tmp_path: Path) -> None:
    plan = storyboard_plan(duration=3.0, width=320, height=240)  # 3 tiles of 160x120
    verify_storyboard(picture(tmp_path / "sprite.jpg", size="480x120"), plan=plan)
    with pytest.raises(TranscodeFailed) as caught:
        verify_storyboard(picture(tmp_path / "small.jpg", size="320x120"), plan=plan)
    assert caught.value.message == (
        "The storyboard came out wrong: (320, 120) instead of a (480, 120) JPEG."
    )
