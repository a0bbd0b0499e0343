"""Checks that what ffmpeg wrote is what we asked for, before anyone sees it.

ffmpeg exiting with 0 is not proof of a good file (a seek past the end writes
no poster; a filter mistake gives the wrong size), and the web will serve
whatever we publish. So every output is probed, and the probe's numbers are
the ones reported in the SUCCESS result. Videos are probed with ffprobe; the
JPEGs (poster, storyboard) are decoded whole by Pillow in this process: an
ffprobe is mostly its start-up (about 60 ms here), a JPEG's decode a few ms.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from transcoder import contract
from transcoder.errors import InvalidMedia, TranscodeFailed
from transcoder.media.ladder import PlannedRung
from transcoder.media.playlists import master_parse, media_parse, playlist_uris, uri_relative
from transcoder.media.probe import ACCEPTED_FORMATS, SourceInfo, probe_source
from transcoder.media.runner import ProcessLimits
from transcoder.media.storyboard import StoryboardPlan

logger = logging.getLogger(__name__)

# How far a rendition's duration may drift from the source's before we log
# it. Not an error: containers round differently and audio may overhang.
_DURATION_DRIFT_SECONDS = 0.5
# A rendition shorter than the source says it is, by more than both of these,
# means the decoder ran out of pictures: an upload cut short or damaged
# data. Publishing it would silently drop the end of the video.
_SHORTFALL_SECONDS = 1.0
_SHORTFALL_FRACTION = 0.1
# Our own media playlists, and the fMP4 segments they name, are all a rung's
# probe may open: still local files only (-protocol_whitelist file).
_PLAYLIST_FORMATS = "hls,mov"
# Rungs cut at the same forced keyframes get the same EXTINF durations; this
# only absorbs the rounding of a timestamp, far below one frame.
_ALIGNMENT_SECONDS = 0.01


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
    formats: str = ACCEPTED_FORMATS,
) -> RenditionInfo:
    """Probe a finished rendition; raise `TranscodeFailed` if it is not as planned.

    `InvalidMedia` instead when it is much shorter than the source: then the
    source itself is damaged.
    """
    try:
        info = probe_source(path, limits=limits, formats=formats)
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


def jpeg_size(path: Path) -> tuple[int, int] | None:
    """The size of the JPEG picture at `path`, decoded whole; None if it is not one."""
    try:
        with Image.open(path, formats=["JPEG"]) as picture:
            picture.load()  # every byte: a cut-off picture fails here, not in a browser
            return picture.size
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None


def verify_poster(path: Path) -> None:
    """Raise `TranscodeFailed` unless `path` holds one decodable JPEG picture."""
    if not poster_written(path):
        raise TranscodeFailed("The poster could not be made: ffmpeg wrote no picture.")
    if jpeg_size(path) is None:
        raise TranscodeFailed("The poster could not be made: the picture is not a readable JPEG.")


@dataclass(frozen=True, kw_only=True)
class CheckedRung:
    name: str
    width: int
    height: int
    # The master playlist's BANDWIDTH for this rung, bits per second.
    bandwidth: int
    segments: int


def verify_ladder(
    folder: Path, *, rungs: list[PlannedRung], source: SourceInfo, limits: ProcessLimits
) -> list[CheckedRung]:
    """Check the ladder in `folder`: playlists whole and relative, rungs aligned, each decodable."""
    master = _text(folder / contract.HLS_MASTER_FILENAME, label="HLS master playlist")
    variants = master_parse(master)
    expected = [f"{r.name}/{contract.HLS_PLAYLIST_FILENAME}" for r in rungs]
    if [v.uri for v in variants] != expected:
        raise TranscodeFailed(
            f"The HLS master playlist names {[v.uri for v in variants]} instead of {expected}."
        )
    timelines = []
    for planned, variant in zip(rungs, variants, strict=True):
        label = f"HLS {planned.name}"
        text = _text(folder / variant.uri, label=f"{label} playlist")
        playlist = media_parse(text)
        problems = [f"it names {uri!r}" for uri in playlist_uris(text) if not uri_relative(uri)]
        if not (playlist.vod and playlist.ended):
            problems.append("it is not a finished VOD playlist")
        if playlist.init_uri != contract.HLS_INIT_FILENAME or not playlist.segments:
            problems.append("it lacks its init segment or its segments")
        missing = [
            uri
            for uri in [contract.HLS_INIT_FILENAME, *(uri for _, uri in playlist.segments)]
            if not (folder / planned.name / uri).is_file()
        ]
        if missing:
            problems.append(f"{len(missing)} of its files are missing")
        if (variant.width, variant.height) != (planned.width, planned.height):
            problems.append(f"the master says {variant.width}x{variant.height}")
        if problems:
            raise TranscodeFailed(f"The {label} rung came out wrong: {'; '.join(problems)}.")
        timelines.append([duration for duration, _ in playlist.segments])
    # One ffprobe per rung, side by side: each is mostly start-up time, and
    # one after the other they were most of a ladder job's verify stage.
    with ThreadPoolExecutor(max_workers=len(rungs)) as pool:
        probes = [
            pool.submit(
                verify_rendition,
                folder / variant.uri,
                label=f"HLS {planned.name}",
                width=planned.width,
                height=planned.height,
                pix_fmt="yuv420p",
                source=source,
                limits=limits,
                formats=_PLAYLIST_FORMATS,
            )
            for planned, variant in zip(rungs, variants, strict=True)
        ]
        for probe in probes:  # in rung order, so the first problem reported is always the same
            probe.result()
    first = timelines[0]
    for planned, timeline in zip(rungs, timelines, strict=True):
        aligned = len(timeline) == len(first) and all(
            abs(a - b) <= _ALIGNMENT_SECONDS for a, b in zip(timeline, first, strict=True)
        )
        if not aligned:
            raise TranscodeFailed(
                f"The HLS {planned.name} rung's segments do not line up with the "
                f"{rungs[0].name} rung's ({len(timeline)} against {len(first)})."
            )
    return [
        CheckedRung(
            name=planned.name,
            width=planned.width,
            height=planned.height,
            bandwidth=variant.bandwidth,
            segments=len(first),
        )
        for planned, variant in zip(rungs, variants, strict=True)
    ]


def verify_storyboard(path: Path, *, plan: StoryboardPlan) -> None:
    """Raise `TranscodeFailed` unless `path` is one JPEG of the planned sprite's size."""
    if not poster_written(path):
        raise TranscodeFailed("The storyboard could not be made: ffmpeg wrote no picture.")
    size = jpeg_size(path)
    if size != plan.sprite_size:
        raise TranscodeFailed(
            f"The storyboard came out wrong: {size} instead of a {plan.sprite_size} JPEG."
        )


def _text(path: Path, *, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise TranscodeFailed(f"The {label} is missing or unreadable.") from None
