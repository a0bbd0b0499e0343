"""Checks that what ffmpeg wrote is what we asked for, before anyone sees it.

ffmpeg exiting with 0 is not proof of a good file (a seek past the end writes
no poster; a filter mistake gives the wrong size), and the web will serve
whatever we publish. So every output is probed, and the probe's numbers are
the ones reported in the SUCCESS result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from transcoder.errors import InvalidMedia, TranscodeFailed
from transcoder.media.probe import SourceInfo, probe_source, run_ffprobe
from transcoder.media.runner import ProcessLimits

logger = logging.getLogger(__name__)

# How far a rendition's duration may drift from the source's before we log
# it. Not an error: containers round differently and audio may overhang.
_DURATION_DRIFT_SECONDS = 0.5
# A rendition shorter than the source says it is, by more than both of these,
# means the decoder ran out of pictures: an upload cut short or damaged
# data. Publishing it would silently drop the end of the video.
_SHORTFALL_SECONDS = 1.0
_SHORTFALL_FRACTION = 0.1


@dataclass(frozen=True, kw_only=True)
class RenditionInfo:
    width: int
    height: int
    duration: float
    size_bytes: int
    video_codec: str
    audio_codec: str | None


def verify_rendition(
    path: Path,
    *,
    label: str,
    width: int,
    height: int,
    pix_fmt: str,
    source: SourceInfo,
    limits: ProcessLimits,
) -> RenditionInfo:
    """Probe a finished rendition; raise `TranscodeFailed` if it is not as planned.

    `InvalidMedia` instead when it is much shorter than the source: then the
    source itself is damaged.
    """
    try:
        info = probe_source(path, limits=limits)
    except InvalidMedia as exc:
        raise TranscodeFailed(f"The {label} rendition is unreadable: {exc.message}") from exc
    expected_audio = "aac" if source.audio_codec is not None else None
    problems = []
    if (info.width, info.height) != (width, height):
        problems.append(f"it is {info.width}x{info.height} instead of {width}x{height}")
    if info.video_codec != "h264":
        problems.append(f"its video is {info.video_codec} instead of h264")
    if info.pix_fmt != pix_fmt:
        # A 10-bit or 4:2:2 picture is still "h264", but browsers cannot play it.
        problems.append(f"its pixel format is {info.pix_fmt} instead of {pix_fmt}")
    if info.audio_codec != expected_audio:
        problems.append(f"its audio is {info.audio_codec} instead of {expected_audio}")
    if problems:
        raise TranscodeFailed(f"The {label} rendition came out wrong: {'; '.join(problems)}.")
    shortfall = source.duration - info.duration
    if shortfall > max(_SHORTFALL_SECONDS, source.duration * _SHORTFALL_FRACTION):
        raise InvalidMedia(
            f"The video stops after {info.duration:.1f} s of the {source.duration:.1f} s "
            "it announces; the file is cut short or damaged."
        )
    if abs(info.duration - source.duration) > _DURATION_DRIFT_SECONDS:
        logger.warning(
            "%s rendition lasts %.3f s, the source %.3f s", label, info.duration, source.duration
        )
    return RenditionInfo(
        width=info.width,
        height=info.height,
        duration=info.duration,
        size_bytes=info.size_bytes,
        video_codec=info.video_codec,
        audio_codec=info.audio_codec,
    )


def poster_written(path: Path) -> bool:
    """Whether ffmpeg wrote anything at `path` (it exits with 0 when no frame came)."""
    return path.is_file() and path.stat().st_size > 0


def verify_poster(path: Path, *, limits: ProcessLimits) -> None:
    """Raise `TranscodeFailed` unless `path` holds one decodable JPEG picture."""
    if not poster_written(path):
        raise TranscodeFailed("The poster could not be made: ffmpeg wrote no picture.")
    try:
        streams = run_ffprobe(path, limits=limits).get("streams", [])
    except InvalidMedia as exc:
        raise TranscodeFailed("The poster could not be made: the picture is unreadable.") from exc
    if not streams or streams[0].get("codec_name") != "mjpeg":
        raise TranscodeFailed("The poster could not be made: the picture is not a JPEG.")
