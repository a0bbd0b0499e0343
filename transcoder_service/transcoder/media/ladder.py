"""The adaptive HLS ladder: which rungs a source gets, and the one ffmpeg pass making them.

Pure, like commands.py: nothing here touches the file system or runs a
process, so the tests pin the exact arguments with `.get_args()`.

One pass, not one ffmpeg per rung: the source is decoded once and `split`
into a scaled copy per rung, and into the poster and the storyboard sprite
when asked (each a second decode of the source otherwise). ffmpeg-python expresses this cleanly (a
multi-output filter plus one output with every stream mapped), so the
command stays a graph like the MP4's rather than a hand-built argv.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from transcoder import contract
from transcoder.media.commands import (
    PosterFrame,
    audio_layout,
    duration_cap,
    fit_within,
    input_options,
    passes_merged,
    picture_copies,
    picture_upright,
    poster_output,
)
from transcoder.media.probe import SourceInfo
from transcoder.media.profiles import RUNGS, Rung
from transcoder.media.storyboard import StoryboardSprite, storyboard_output

# The same caps as the MP4 profiles (profiles.Profile): browsers decode
# this and nothing else everywhere, and faster sources gain nothing.
_VIDEO_CODEC = "libx264"
_PRESET = "veryfast"
_PIX_FMT = "yuv420p"
_MAX_FRAME_RATE = 60
_AUDIO_CODEC = "aac"
_AUDIO_CHANNELS = 2
# A ladder published while it is made (live.py) starts with short segments,
# so its first one is in the store about a second of media after the pass
# starts, and a player can start that much sooner: this many seconds each,
# up to the first full segment's boundary (contract.HLS_SEGMENT_SECONDS).
FIRST_SEGMENT_SECONDS = 1


@dataclass(frozen=True, kw_only=True)
class PlannedRung:
    """A rung as this source gets it: its name and its real (even) size."""

    name: str
    width: int
    height: int
    rung: Rung


def ladder_rungs(*, width: int, height: int) -> list[PlannedRung]:
    """The rungs for a `width`x`height` source, highest first; never an upscale.

    A rung is made when the source fills its box (turned for portrait, as
    fit_within does); a source smaller than the lowest box gets that rung's
    settings at its own even size, named for its short side ("240p").
    """
    planned = []
    for rung in RUNGS:
        box_width, box_height = (
            (rung.box_height, rung.box_width)
            if height > width
            else (rung.box_width, rung.box_height)
        )
        if min(box_width / width, box_height / height) <= 1:
            planned.append(_planned(rung, width=width, height=height))
    if planned:
        return planned
    lowest = _planned(RUNGS[-1], width=width, height=height)
    name = f"{min(lowest.width, lowest.height)}p"
    return [PlannedRung(name=name, width=lowest.width, height=lowest.height, rung=RUNGS[-1])]


def ladder_command(
    *,
    source: Path,
    folder: Path,
    rungs: list[PlannedRung],
    info: SourceInfo,
    threads: int,
    max_pixels: int,
    poster: PosterFrame | None = None,
    storyboard: StoryboardSprite | None = None,
    progressive: bool = False,
) -> ffmpeg.nodes.OutputStream:
    """ffmpeg command writing every rung of the ladder, and the master playlist, into `folder`;
    also the poster and the storyboard's sprite, when given.

    `progressive`: each rung's playlist is an EVENT playlist, rewritten as
    each segment closes (live.py publishes it while the pass runs), and the
    first segments are short (`FIRST_SEGMENT_SECONDS`); packaging.py makes
    the playlists VOD once the pass is done.
    """
    stream = ffmpeg.input(str(source), **input_options(max_pixels=max_pixels, threads=threads))
    # Split after deinterlacing and the frame-rate cap, so every rung gets the
    # very same frames: with the same forced keyframes, segments line up.
    upright = picture_upright(stream, info=info, max_frame_rate=_MAX_FRAME_RATE)
    pictures = picture_copies(upright, len(rungs) + (poster is not None) + (storyboard is not None))
    extras = pictures[len(rungs) :]
    side_outputs = []
    if poster is not None:
        side_outputs.append(poster_output(extras.pop(0), poster=poster))
    if storyboard is not None:
        side_outputs.append(
            storyboard_output(extras.pop(0), sprite=storyboard, duration=info.duration)
        )
    outputs = [
        picture.filter("scale", planned.width, planned.height)
        for picture, planned in zip(pictures[: len(rungs)], rungs, strict=True)
    ]
    has_audio = info.audio_stream_index is not None
    options: dict[str, object] = {
        "format": "hls",
        "c:v": _VIDEO_CODEC,
        "preset": _PRESET,
        "pix_fmt": _PIX_FMT,
        # A keyframe at every segment boundary, and none chosen by scene
        # cuts: each rung then cuts its segments at the same instants, and a
        # player switching rungs mid-stream never shows a jump.
        "force_key_frames": _keyframes(progressive=progressive),
        "sc_threshold": 0,
        "fps_mode": "vfr",  # keep each frame's timestamp, as the MP4 does
        "threads": threads,
        "t": duration_cap(info.duration),
        "map_metadata": -1,
        "map_chapters": -1,
        # The muxer cuts at the first keyframe at least hls_time after the
        # last cut, so the forced keyframes alone decide the segments: short
        # ones first, then HLS_SEGMENT_SECONDS. (hls_init_time cannot do it:
        # it lasts until the list is first full, which an EVENT list never is.)
        "hls_time": FIRST_SEGMENT_SECONDS if progressive else contract.HLS_SEGMENT_SECONDS,
        # EVENT: ffmpeg rewrites it (a temporary file, then a rename) after
        # each segment, listing only closed segments, which are written whole.
        "hls_playlist_type": "event" if progressive else "vod",
        "hls_segment_type": "fmp4",
        "hls_fmp4_init_filename": contract.HLS_INIT_FILENAME,
        "hls_segment_filename": str(folder / "%v" / contract.HLS_SEGMENT_PATTERN),
        "start_number": 1,
        "master_pl_name": contract.HLS_MASTER_FILENAME,
        "var_stream_map": " ".join(
            f"v:{index},a:{index},name:{planned.name}"
            if has_audio
            else f"v:{index},name:{planned.name}"
            for index, planned in enumerate(rungs)
        ),
    }
    for index, planned in enumerate(rungs):
        options[f"crf:v:{index}"] = planned.rung.crf
        options[f"maxrate:v:{index}"] = planned.rung.maxrate
        options[f"bufsize:v:{index}"] = planned.rung.bufsize
    if has_audio:
        # Each variant carries its own copy of the audio: a player then needs
        # no separate audio rendition group (EXT-X-MEDIA) to play any rung.
        outputs += [stream[str(info.audio_stream_index)] for _ in rungs]
        for index, planned in enumerate(rungs):
            channels, options[f"b:a:{index}"] = audio_layout(
                info=info, channels=_AUDIO_CHANNELS, bitrate=planned.rung.audio_bitrate
            )
        options.update({"c:a": _AUDIO_CODEC, "ac": channels})
    else:
        options["an"] = None
    return passes_merged(
        ffmpeg.output(*outputs, str(folder / "%v" / contract.HLS_PLAYLIST_FILENAME), **options),
        *side_outputs,
    )


def _keyframes(*, progressive: bool) -> str:
    """ffmpeg's -force_key_frames expression: where every rung's segments start.

    Evaluated per rung on the very same frames (split after the frame-rate
    cap), so every rung gets its keyframes, and its cuts, at the same instants.
    """
    segment = contract.HLS_SEGMENT_SECONDS
    if not progressive:
        return f"expr:gte(t,n_forced*{segment})"
    # n_forced keyframes so far: one each FIRST_SEGMENT_SECONDS until the
    # first full segment's boundary, then one each `segment` seconds.
    short = segment // FIRST_SEGMENT_SECONDS
    return (
        f"expr:if(lt(t,{segment}),gte(t,n_forced*{FIRST_SEGMENT_SECONDS}),"
        f"gte(t,{segment}+(n_forced-{short})*{segment}))"
    )


def _planned(rung: Rung, *, width: int, height: int) -> PlannedRung:
    size = fit_within(
        width=width, height=height, box_width=rung.box_width, box_height=rung.box_height
    )
    return PlannedRung(name=rung.name, width=size[0], height=size[1], rung=rung)
