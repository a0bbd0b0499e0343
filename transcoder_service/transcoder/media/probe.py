"""What a media file contains, according to ffprobe.

`probe_source` turns ffprobe's JSON into a small `SourceInfo` and refuses
anything that is not a video we are willing to transcode, with a sentence a
person can act on. `check_limits` applies the size/duration/pixel limits.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transcoder.errors import InvalidMedia
from transcoder.media.runner import ProcessLimits, run_probe

logger = logging.getLogger(__name__)

# ffprobe's format names for single pictures. A JPEG probes as a 0.04 s
# "video"; transcoding it would produce a useless clip, so say what it is.
_STILL_IMAGE_FORMATS = frozenset({"image2", "image2pipe"})

# The demuxers (ffmpeg's short names) ffprobe and ffmpeg may open a source
# with; ffmpeg refuses any other format before reading past its header
# (-format_whitelist). Playlists and scripts such as hls, dash, concat and
# imf open the files they name, so an uploaded playlist could pull another
# upload, or any video on this machine, into its own rendition. "mov" covers
# mp4/m4v/3gp and "matroska" covers webm. Audio and still-image formats are
# here so that they get their own, clearer refusal below; raw h264/hevc
# streams likewise.
ACCEPTED_FORMATS = ",".join(
    (
        *("mov", "matroska", "avi", "mpeg", "mpegts", "flv", "asf", "ogg", "mxf", "dv", "gif"),
        *("ivf", "nut", "h264", "hevc"),
        *("mp3", "wav", "flac", "aac"),
        *("image2", "image2pipe", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe"),
    )
)

# The box types an MP4 or MOV file begins with.
_MP4_FIRST_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide"})

# What a decoder says when it refused a frame before allocating it
# (libavutil's av_image_check_size2): over -max_pixels it "exceeds specified
# max pixel count"; over libavutil's own ceiling (about 16k x 16k) it "is invalid".
_OVERSIZED_PICTURE = re.compile(
    r"Picture size (\d+)x(\d+) (?:exceeds specified max pixel count|is invalid)"
)

# field_order values that mean the frames hold two fields (top/bottom first).
_INTERLACED_FIELD_ORDERS = frozenset({"tt", "bb", "tb", "bt"})


@dataclass(frozen=True, kw_only=True)
class SourceInfo:
    duration: float
    # Display dimensions: already swapped when `rotation` is 90 or 270, since
    # ffmpeg rotates frames upright while decoding.
    width: int
    height: int
    video_codec: str
    audio_codec: str | None
    format: str
    size_bytes: int
    rotation: int
    # The average frame rate; None when ffprobe cannot tell.
    frame_rate: float | None
    # Frames made of two fields from two moments (broadcast, camcorders):
    # shown as they are on a progressive screen, moving edges look combed.
    interlaced: bool
    pix_fmt: str | None
    # ffprobe's stream indexes, so commands map exactly the streams probed
    # here (and never the cover art picture).
    video_stream_index: int
    audio_stream_index: int | None
    # None when there is no audio, or ffprobe cannot tell.
    audio_channels: int | None = None


def probe_source(
    path: Path, *, limits: ProcessLimits, formats: str = ACCEPTED_FORMATS
) -> SourceInfo:
    """Probe `path`, raising `InvalidMedia` when it is not a usable video.

    `formats`: the demuxers it may be opened with; only our own HLS output
    is probed with more than ACCEPTED_FORMATS (verify.py).
    """
    data = run_ffprobe(path, limits=limits, formats=formats)
    fmt = data.get("format", {})
    streams = data.get("streams", [])
    format_name = str(fmt.get("format_name", ""))
    if format_name in _STILL_IMAGE_FORMATS or format_name.endswith("_pipe"):
        raise InvalidMedia("The file is a still image, not a video.")
    if not streams:
        raise InvalidMedia("The file contains no audio or video at all; it may be damaged.")
    video = _first(streams, "video")
    if video is None:
        raise InvalidMedia("The file is not a video: no video stream was found.")
    audio = _first(streams, "audio")
    duration = _duration(fmt, video)
    if duration is None:
        # Without a duration there is no progress and no limit check; raw
        # streams (.h264) and damaged files end up here.
        raise InvalidMedia(
            "The video does not say how long it is; it may be damaged or a raw stream."
        )
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise InvalidMedia("The video stream has no picture size; the file may be damaged.")
    rotation = _rotation(video)
    if rotation in (90, 270):
        width, height = height, width
    return SourceInfo(
        duration=duration,
        width=width,
        height=height,
        video_codec=str(video.get("codec_name", "unknown")),
        audio_codec=str(audio.get("codec_name", "unknown")) if audio else None,
        format=format_name,
        size_bytes=int(fmt.get("size") or path.stat().st_size),
        rotation=rotation,
        frame_rate=_frame_rate(video.get("avg_frame_rate")),
        interlaced=video.get("field_order") in _INTERLACED_FIELD_ORDERS,
        pix_fmt=video.get("pix_fmt"),
        video_stream_index=int(video["index"]),
        audio_stream_index=int(audio["index"]) if audio else None,
        audio_channels=int(audio["channels"]) if audio and audio.get("channels") else None,
    )


def probe_command(*, source: Path, max_pixels: int, formats: str = ACCEPTED_FORMATS) -> list[str]:
    """ffprobe's argv for `source`: JSON of its format and streams."""
    return [
        "ffprobe",
        *("-v", "error", "-of", "json", "-show_format", "-show_streams"),
        # A crafted file (an HLS playlist, say) must not make ffprobe open
        # URLs or other protocols on our behalf, nor other formats' files.
        *("-protocol_whitelist", "file", "-format_whitelist", formats),
        # ffprobe decodes a few frames to fill in what the header leaves
        # out; a frame header claiming 20000x20000 must be refused before
        # the decoder allocates it, not after.
        *("-max_pixels", str(max_pixels)),
        # "file:" so that a name starting with "-" or holding ":" is a path.
        f"file:{source}",
    ]


def run_ffprobe(
    path: Path, *, limits: ProcessLimits, formats: str = ACCEPTED_FORMATS
) -> dict[str, Any]:
    """ffprobe's JSON for `path`, or `InvalidMedia` if it cannot read it."""
    argv = probe_command(source=path, max_pixels=limits.max_pixels, formats=formats)
    try:
        output = run_probe(argv, limits=limits)
    except subprocess.TimeoutExpired:
        raise InvalidMedia(
            f"The file could not be read within {limits.probe_timeout:.0f} s; "
            "it is damaged or built to stall the reader."
        ) from None
    detail = output.stderr.strip().splitlines()
    oversized = _OVERSIZED_PICTURE.search(output.stderr)
    if oversized:
        width, height = oversized.groups()
        raise InvalidMedia(_too_large(f"{width}x{height}", max_pixels=limits.max_pixels))
    if output.returncode != 0:
        logger.info("ffprobe refused %s: %s", path, detail[-1] if detail else "no output")
        raise InvalidMedia(_unreadable(path, detail))
    try:
        data: dict[str, Any] = json.loads(output.stdout)
    except ValueError:
        raise InvalidMedia("The file could not be read as a media file.") from None
    return data


def _too_large(size: str, *, max_pixels: int) -> str:
    return f"The picture is too large: {size} pixels, the limit is {max_pixels} pixels per frame."


def _unreadable(path: Path, stderr_lines: list[str]) -> str:
    """Why ffprobe could not read `path`, as precisely as we can tell."""
    if any("Format not on whitelist" in line for line in stderr_lines):
        return (
            "The file is not in a video format this service accepts "
            "(such as MP4, MOV, MKV, WebM or AVI)."
        )
    unreadable = "The file could not be read as a media file."
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return unreadable
    if not head:
        return "The file is empty."
    # ffprobe says "moov atom not found" for anything named .mp4; only a file
    # that starts like one (its first box) has really lost its index. An MP4
    # or MOV written without faststart keeps the index at the end, so an
    # interrupted upload or recording loses it first.
    moov_missing = any("moov atom not found" in line for line in stderr_lines)
    if moov_missing and head[4:8] in _MP4_FIRST_BOXES:
        return "The file is cut short or damaged: the index at the end of the video is missing."
    return unreadable


def check_limits(
    info: SourceInfo, *, max_source_bytes: int, max_duration_seconds: int, max_pixels: int
) -> None:
    """Refuse sources that would tie a worker up for too long."""
    if info.size_bytes > max_source_bytes:
        raise InvalidMedia(
            f"The file is too large: {info.size_bytes} bytes, the limit is {max_source_bytes}."
        )
    if info.duration > max_duration_seconds:
        raise InvalidMedia(
            f"The video is too long: {info.duration:.0f} s, the limit is {max_duration_seconds} s."
        )
    if info.width * info.height > max_pixels:
        raise InvalidMedia(_too_large(f"{info.width}x{info.height}", max_pixels=max_pixels))


def _first(streams: list[dict[str, Any]], codec_type: str) -> dict[str, Any] | None:
    for stream in streams:
        if stream.get("codec_type") != codec_type:
            continue
        # An MP3's or an MP4's cover art is a "video" stream holding one
        # picture; it does not make the file a video.
        if stream.get("disposition", {}).get("attached_pic"):
            continue
        return stream
    return None


def _duration(fmt: dict[str, Any], video: dict[str, Any]) -> float | None:
    # The container's duration covers all streams; some formats (raw
    # streams, some MKVs) only have it per stream.
    for raw in (fmt.get("duration"), video.get("duration")):
        if raw is None:
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            continue
        if value > 0:
            return value
    return None


def _frame_rate(raw: object) -> float | None:
    # ffprobe writes a fraction ("30000/1001"), and "0/0" when it does not know.
    numerator, _, denominator = str(raw).partition("/")
    try:
        rate = float(numerator) / float(denominator or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def _rotation(video: dict[str, Any]) -> int:
    """Rotation in degrees, normalised to 0, 90, 180 or 270."""
    # Newer ffmpeg reports the display matrix as side data; older files and
    # ffmpeg versions carry a `rotate` tag. Only the angle modulo 180
    # matters to us (it decides whether width and height swap).
    for side_data in video.get("side_data_list", []):
        if "rotation" in side_data:
            return _normalise(side_data["rotation"])
    return _normalise(video.get("tags", {}).get("rotate", 0))


def _normalise(raw: object) -> int:
    try:
        degrees = round(float(str(raw)))
    except ValueError:
        return 0
    return (round(degrees / 90) * 90) % 360
