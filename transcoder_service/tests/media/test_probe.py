from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from transcoder.errors import InvalidMedia
from transcoder.media.probe import (
    ACCEPTED_FORMATS,
    SourceInfo,
    check_limits,
    probe_command,
    probe_source,
)

from ..clips import Clips, ffmpeg
from ..corpus import broken, sources
from ..support import PROCESS_LIMITS


def test_video_with_audio(clips: Clips) -> None:
    path = clips.path(clips.clip)
    info = probe_source(path, limits=PROCESS_LIMITS)
    assert info == SourceInfo(
        duration=pytest.approx(2.0, abs=0.1),
        width=320,
        height=240,
        video_codec="h264",
        audio_codec="aac",
        format="mov,mp4,m4a,3gp,3g2,mj2",
        size_bytes=path.stat().st_size,
        rotation=0,
        frame_rate=25.0,
        interlaced=False,
        pix_fmt="yuv420p",
        video_stream_index=0,
        audio_stream_index=1,
        audio_channels=1,  # lavfi's sine is mono
    )


def test_video_without_audio(clips: Clips) -> None:
    info = probe_source(clips.path(clips.silent), limits=PROCESS_LIMITS)
    assert info.audio_codec is None
    assert info.audio_stream_index is None


def test_rotated_video_reports_display_size(clips: Clips) -> None:
    info = probe_source(clips.path(clips.portrait), limits=PROCESS_LIMITS)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (240, 320)


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("audio_only", "The file is not a video: no video stream was found."),
        # Cover art is a one-picture "video" stream; it does not count.
        ("cover_art", "The file is not a video: no video stream was found."),
        ("text", "The file could not be read as a media file."),
        ("still", "The file is a still image, not a video."),
        ("raw_h264", "The video does not say how long it is"),
    ],
)
def test_refused_files(clips: Clips, attribute: str, message: str) -> None:
    with pytest.raises(InvalidMedia) as caught:
        probe_source(clips.path(getattr(clips, attribute)), limits=PROCESS_LIMITS)
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (broken.empty, "The file is empty."),
        (broken.no_streams, "The file contains no audio or video at all; it may be damaged."),
        (broken.truncated_index_lost, "The file is cut short or damaged: the index at the end"),
        # Named .mp4, so ffprobe misses the index too; but it is no MP4 at all.
        (broken.text, "The file could not be read as a media file."),
        # Playlists open the files they name: refused before they are read.
        (broken.hls_playlist, "The file is not in a video format this service accepts"),
        (broken.concat_list, "The file is not in a video format this service accepts"),
    ],
)
def test_refused_with_a_precise_reason(
    tmp_path: Path, make: Callable[[Path], None], message: str
) -> None:
    path = tmp_path / "upload.mp4"
    make(path)
    with pytest.raises(InvalidMedia) as caught:
        probe_source(path, limits=PROCESS_LIMITS)
    assert caught.value.message.startswith(message)


def test_interlaced_video(tmp_path: Path) -> None:
    path = tmp_path / "50i.ts"
    sources.interlaced_mpeg2_ts(path)
    info = probe_source(path, limits=PROCESS_LIMITS)
    assert info.interlaced
    assert info.frame_rate == 25.0


def test_progressive_video(clips: Clips) -> None:
    assert not probe_source(clips.path(clips.clip), limits=PROCESS_LIMITS).interlaced


def test_frame_rate_of_a_variable_frame_rate_video_is_its_average(tmp_path: Path) -> None:
    path = tmp_path / "mixed.mp4"
    sources.mixed_frame_rates(path)  # 24 frames in 1 s, then 60 in 1 s
    assert probe_source(path, limits=PROCESS_LIMITS).frame_rate == pytest.approx(84 / 2, rel=0.05)


def test_missing_file_is_unreadable(clips: Clips) -> None:
    with pytest.raises(InvalidMedia, match="could not be read"):
        probe_source(clips.directory / "absent.mp4", limits=PROCESS_LIMITS)


BIG = SourceInfo(
    duration=7200.0,
    width=3840,
    height=2160,
    video_codec="hevc",
    audio_codec=None,
    format="matroska,webm",
    size_bytes=10**9,
    rotation=0,
    frame_rate=30.0,
    interlaced=False,
    pix_fmt="yuv420p10le",
    video_stream_index=0,
    audio_stream_index=None,
)
LIMITS = {"max_source_bytes": 2 * 1024**3, "max_duration_seconds": 10800, "max_pixels": 35389440}


def test_within_limits() -> None:
    check_limits(BIG, **LIMITS)


@pytest.mark.parametrize(
    ("change", "limit", "message"),
    [
        ({"size_bytes": 3 * 1024**3}, {}, "too large: 3221225472 bytes, the limit is 2147483648"),
        ({"duration": 10801.0}, {}, "too long: 10801 s, the limit is 10800 s"),
        ({}, {"max_pixels": 1920 * 1080}, "3840x2160 pixels, the limit is 2073600 pixels"),
    ],
)
def test_over_limits(change: dict[str, object], limit: dict[str, int], message: str) -> None:
    with pytest.raises(InvalidMedia, match=message):
        check_limits(dataclasses.replace(BIG, **change), **{**LIMITS, **limit})


def test_a_frame_header_claiming_an_absurd_size_is_refused_before_decoding(
    tmp_path: Path,
) -> None:
    # The container says 16x16; the one JPEG frame inside says 20000x20000.
    # Decoding it would allocate 1.6 GB; -max_pixels refuses it first.
    small = tmp_path / "small.mkv"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=16x16:d=0.2:r=5", "-c:v", "mjpeg", str(small))
    data = bytearray(small.read_bytes())
    sof = data.index(b"\xff\xc0")  # start of frame: length(2) precision(1) height(2) width(2)
    data[sof + 5 : sof + 9] = (20000).to_bytes(2, "big") * 2
    bomb = tmp_path / "bomb.mkv"
    bomb.write_bytes(bytes(data))
    with pytest.raises(InvalidMedia) as caught:
        probe_source(bomb, limits=PROCESS_LIMITS)
    assert caught.value.message == (
        "The picture is too large: 20000x20000 pixels, "
        f"the limit is {PROCESS_LIMITS.max_pixels} pixels per frame."
    )


def test_probe_command_caps_the_frame_size_and_the_inputs() -> None:
    argv = probe_command(source=Path("/scratch/j.a/source.mp4"), max_pixels=1234)
    assert argv[0] == "ffprobe"
    assert argv[argv.index("-max_pixels") + 1] == "1234"
    assert argv[argv.index("-protocol_whitelist") + 1] == "file"
    assert argv[argv.index("-format_whitelist") + 1] == ACCEPTED_FORMATS
    assert argv[-1] == "file:/scratch/j.a/source.mp4"
