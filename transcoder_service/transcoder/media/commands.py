"""Pure functions that build ffmpeg command lines (as ffmpeg-python streams).

Nothing here touches the file system or runs a process, so the tests pin
the exact arguments with `.get_args()`; runner.py is what executes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from transcoder.media.probe import ACCEPTED_FORMATS, SourceInfo
from transcoder.media.profiles import Profile

# Arguments every ffmpeg run gets:
# -v error: stderr holds only errors, so its tail is a useful failure reason.
# -nostats -progress pipe:1: machine-readable key=value progress on stdout
#   instead of the human status line on stderr.
# -y: outputs are fresh temporary names; never stop to ask a question.
GLOBAL_ARGS = ("-v", "error", "-nostats", "-progress", "pipe:1")

# Don't let the demuxer open anything but local files, nor read any format
# but the accepted ones: a crafted upload (an HLS playlist, a concat list)
# could otherwise make ffmpeg fetch URLs or read other files on this machine.
_INPUT_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": ACCEPTED_FORMATS}

# The output may run this much past the probed duration (timestamps that
# start late, rounding in variable frame rates) before ffmpeg is stopped.
# A file whose real stream is far longer than its header claims would
# otherwise transcode for hours past every limit checked at probe time.
DURATION_SLACK_FRACTION = 0.02
DURATION_SLACK_SECONDS = 5.0

# field_order says the frames are interlaced. bwdif rebuilds whole frames;
# send_frame keeps the frame rate, and deint=interlaced leaves frames that are
# flagged progressive alone (sources that mix the two).
_DEINTERLACE = {"mode": "send_frame", "parity": "auto", "deint": "interlaced"}

POSTER_FRACTION = 0.1
POSTER_MAX_SECONDS = 10.0
_POSTER_OPTIONS = {
    # image2 picks its codec from the extension, which is ".tmp" here; the
    # mjpeg muxer writes a plain JPEG file for one frame.
    "format": "mjpeg",
    "frames:v": 1,
    "q:v": 3,
    "map_metadata": -1,
}


@dataclass(frozen=True, kw_only=True)
class PosterFrame:
    """The poster as one more output of a pass that decodes the source anyway."""

    target: Path
    at_seconds: float
    width: int
    height: int


def fit_within(*, width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The largest even size that keeps the aspect ratio, fits the box, never upscales.

    The box is for landscape; a portrait source (taller than wide) uses it
    turned by 90 degrees, so a phone video becomes 720x1280, not 406x720.
    """
    if height > width:
        box_width, box_height = box_height, box_width
    scale = min(1.0, box_width / width, box_height / height)
    return _even(width * scale, ceiling=min(width, box_width)), _even(
        height * scale, ceiling=min(height, box_height)
    )


def _even(value: float, *, ceiling: int) -> int:
    # H.264 in yuv420p needs even dimensions. Round to the nearest even
    # number, but never above the ceiling: an odd 321-pixel source must
    # become 320, not 322 (that would be an upscale, and maybe outside the box).
    nearest = int(value / 2 + 0.5) * 2
    return max(2, min(nearest, ceiling - ceiling % 2))


def duration_cap(duration: float) -> float:
    """The longest output ffmpeg may write for a source probed at `duration` seconds."""
    return round(duration * (1 + DURATION_SLACK_FRACTION) + DURATION_SLACK_SECONDS, 3)


def input_options(*, max_pixels: int, threads: int | None = None) -> dict[str, object]:
    """The options of every source input: what may be opened, how big a frame may be,
    and the decoder's threads when given (0: ffmpeg decides)."""
    # -max_pixels makes the decoder refuse a frame larger than the limit the
    # probe enforces before it allocates it: a frame header can claim far
    # more than the container announced.
    options: dict[str, object] = {**_INPUT_OPTIONS, "max_pixels": max_pixels}
    if threads is not None:
        # The output's -threads sizes the encoder only. Jobs sharing the cores
        # ran 5-7 % faster with the decoder kept to the same share (two
        # 10 s 720p jobs side by side at -threads 1: 8.4 s for three pairs,
        # against 8.9-9.0 s with the decoder's own threads).
        options["threads"] = threads
    return options


def audio_layout(*, info: SourceInfo, channels: int, bitrate: str) -> tuple[int, str]:
    """-ac and -b:a for `info`'s audio: at most `channels`, never more than the source
    has, at `bitrate` (given for `channels`) shared out by channel.

    A mono source upmixed to stereo at the stereo bitrate costs the AAC
    encoder twice the work for the same sound: ffmpeg's CPU time per job grew
    by about a tenth of a lone 10 s 720p job's encode (bench/results.md).
    """
    kept = min(info.audio_channels or channels, channels)
    return kept, f"{int(bitrate.removesuffix('k')) * kept // channels}k"


def transcode_command(
    *,
    source: Path,
    target: Path,
    profile: Profile,
    info: SourceInfo,
    threads: int,
    max_pixels: int,
    poster: PosterFrame | None = None,
) -> ffmpeg.nodes.OutputStream:
    """ffmpeg command turning `source` into one MP4 rendition at `target`, and the poster if asked.

    The poster then comes from the frames this pass decodes anyway, instead
    of a second ffmpeg that starts, seeks and decodes again (bench/results.md).
    """
    width, height = fit_within(
        width=info.width,
        height=info.height,
        box_width=profile.box_width,
        box_height=profile.box_height,
    )
    stream = ffmpeg.input(str(source), **input_options(max_pixels=max_pixels, threads=threads))
    upright = picture_upright(stream, info=info, max_frame_rate=profile.max_frame_rate)
    pictures = picture_copies(upright, 1 if poster is None else 2)
    video = pictures[0].filter("scale", width, height)
    outputs = [video]
    options: dict[str, object] = {
        # The target is a temp name ending in ".tmp"; name the muxer instead
        # of letting ffmpeg guess it from the extension.
        "format": "mp4",
        "c:v": profile.video_codec,
        "preset": profile.preset,
        "crf": profile.crf,
        "pix_fmt": profile.pix_fmt,
        # Keep each frame's own timestamp. The mp4 muxer's default (cfr)
        # fills a variable-frame-rate source up to the rate ffprobe guesses
        # from its smallest gap between frames: a phone clip mixing 24 and
        # 60 fps came out at 120 fps, each frame repeated two to five times.
        "fps_mode": "vfr",
        # Moves the index to the front so browsers can start playing before
        # the whole file has downloaded.
        "movflags": "+faststart",
        "threads": threads,
        "t": duration_cap(info.duration),
        # Phone videos carry GPS coordinates and device details in their
        # metadata; a published rendition has no business keeping them.
        "map_metadata": -1,
        "map_chapters": -1,
    }
    if info.audio_stream_index is None:
        options["an"] = None  # ffmpeg-python renders a None value as a bare flag
    else:
        outputs.append(stream[str(info.audio_stream_index)])
        channels, bitrate = audio_layout(
            info=info, channels=profile.audio_channels, bitrate=profile.audio_bitrate
        )
        options.update({"c:a": profile.audio_codec, "b:a": bitrate, "ac": channels})
    return passes_merged(
        ffmpeg.output(*outputs, str(target), **options),
        *([] if poster is None else [poster_output(pictures[1], poster=poster)]),
    )


def passes_merged(*outputs: ffmpeg.nodes.OutputStream) -> ffmpeg.nodes.OutputStream:
    """One ffmpeg writing every one of `outputs`, with the global arguments."""
    merged = outputs[0] if len(outputs) == 1 else ffmpeg.merge_outputs(*outputs)
    return merged.global_args(*GLOBAL_ARGS).overwrite_output()


def poster_output(
    upright: ffmpeg.nodes.FilterableStream, *, poster: PosterFrame
) -> ffmpeg.nodes.OutputStream:
    """The first frame of `upright` at or past the poster's time, scaled, as a JPEG.

    `select` lets exactly one frame through, so nothing queues behind an
    output that is already finished. The JPEG's full-range format is made by
    a scale filter of this branch alone: asked of the encoder, the format
    negotiation carries it up through `split`, and every frame of the main
    output was converted to full range and back (+25 % CPU, measured).
    If no frame comes at or past that time, nothing is written (encode.py
    then takes the first frame with poster_command).
    """
    frame = (
        upright.filter("select", expr=f"gte(t,{poster.at_seconds})*isnan(prev_selected_t)")
        .filter("scale", poster.width, poster.height)
        .filter("format", "yuvj420p")
    )
    return ffmpeg.output(frame, str(poster.target), **_POSTER_OPTIONS)


def picture_copies(
    upright: ffmpeg.nodes.FilterableStream, count: int
) -> list[ffmpeg.nodes.FilterableStream]:
    """`count` streams of the same frames: `split`, or the stream itself when one is enough."""
    if count == 1:
        return [upright]
    copies = upright.filter_multi_output("split", count)
    return [copies.stream(index) for index in range(count)]


def poster_time(duration: float) -> float:
    """When to grab the poster: early, but past a typical black fade-in."""
    return round(min(duration * POSTER_FRACTION, POSTER_MAX_SECONDS), 3)


def poster_command(
    *, source: Path, info: SourceInfo, poster: PosterFrame, max_pixels: int
) -> ffmpeg.nodes.OutputStream:
    """ffmpeg command writing the poster alone, for when the pass wrote none (poster_output)."""
    stream = ffmpeg.input(str(source), **input_options(max_pixels=max_pixels))
    upright = picture_upright(stream, info=info, max_frame_rate=None)
    return passes_merged(poster_output(upright, poster=poster))


def picture_upright(
    stream: ffmpeg.nodes.FilterableStream, *, info: SourceInfo, max_frame_rate: float | None
) -> ffmpeg.nodes.FilterableStream:
    """The probed video stream, deinterlaced and slowed if need be, before any scaling.

    ffmpeg rotates frames upright while decoding (autorotate), so the scale
    filters after this see display-oriented frames and get display dimensions.
    """
    video = stream[str(info.video_stream_index)]
    if info.interlaced:
        # Before scaling: scaling blends the lines of the two fields together,
        # and then the combing can no longer be undone.
        video = video.filter("bwdif", **_DEINTERLACE)
    rate = info.frame_rate
    if max_frame_rate is not None and rate is not None and rate > max_frame_rate:
        video = video.filter("fps", fps=max_frame_rate)
    return video
