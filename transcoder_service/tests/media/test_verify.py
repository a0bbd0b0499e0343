from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from transcoder.errors import InvalidMedia, TranscodeFailed
from transcoder.media.probe import SourceInfo, probe_source
from transcoder.media.verify import RenditionInfo, poster_written, verify_rendition

from ..clips import Clips
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
