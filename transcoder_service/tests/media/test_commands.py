from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from transcoder.media.commands import (
    PosterFrame,
    duration_cap,
    fit_within,
    poster_command,
    poster_time,
    transcode_command,
)
from transcoder.media.probe import ACCEPTED_FORMATS, SourceInfo
from transcoder.media.profiles import PROFILES

SOURCE = Path("/media/sources/in")
MAX_PIXELS = 35389440
TARGET = Path("/media/outputs/j/.720p.mp4.abc.tmp")


def info(
    *,
    width: int = 1920,
    height: int = 1080,
    audio: bool = True,
    duration: float = 60.0,
    frame_rate: float | None = 30.0,
    interlaced: bool = False,
) -> SourceInfo:
    return SourceInfo(
        duration=duration,
        width=width,
        height=height,
        video_codec="h264",
        audio_codec="aac" if audio else None,
        format="mov,mp4,m4a,3gp,3g2,mj2",
        size_bytes=1000,
        rotation=0,
        frame_rate=frame_rate,
        interlaced=interlaced,
        pix_fmt="yuv420p",
        video_stream_index=0,
        audio_stream_index=1 if audio else None,
    )


@pytest.mark.parametrize(
    ("source", "box", "expected"),
    [
        ((1920, 1080), (1280, 720), (1280, 720)),  # plain downscale
        ((3840, 2160), (854, 480), (854, 480)),  # 853.3 rounds to even 854
        ((1440, 1080), (1280, 720), (960, 720)),  # 4:3 limited by height
        ((2560, 1080), (1280, 720), (1280, 540)),  # ultra-wide limited by width
        ((320, 240), (1280, 720), (320, 240)),  # never upscaled
        ((321, 241), (1280, 720), (320, 240)),  # odd: rounded down, not up
        ((323, 243), (1280, 720), (322, 242)),  # round() would give 324 > 323
        ((1080, 1920), (1280, 720), (720, 1280)),  # portrait uses the turned box
        ((720, 1280), (854, 480), (480, 854)),
        ((1000, 1000), (1280, 720), (720, 720)),  # square counts as landscape
        ((4000, 2), (1280, 720), (1280, 2)),  # never below 2
    ],
)
def test_fit_within(
    source: tuple[int, int], box: tuple[int, int], expected: tuple[int, int]
) -> None:
    width, height = fit_within(
        width=source[0], height=source[1], box_width=box[0], box_height=box[1]
    )
    assert (width, height) == expected
    assert width % 2 == 0
    assert height % 2 == 0


def transcode_args(**kwargs: object) -> list[str]:
    stream = transcode_command(
        source=SOURCE,
        target=TARGET,
        profile=PROFILES[str(kwargs.pop("profile", "720p"))],
        info=kwargs.pop("source_info", info()),
        threads=kwargs.pop("threads", 0),
        max_pixels=MAX_PIXELS,
        poster=kwargs.pop("poster", None),
    )
    return stream.get_args()


def option(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def input_options(args: list[str]) -> dict[str, str]:
    before_input = args[: args.index("-i")]
    return dict(zip(before_input[::2], before_input[1::2], strict=True))


def test_transcode_input_is_locked_to_local_files_in_accepted_formats() -> None:
    args = transcode_args()
    assert input_options(args) == {
        "-protocol_whitelist": "file",
        "-format_whitelist": ACCEPTED_FORMATS,
        "-max_pixels": str(MAX_PIXELS),
        "-threads": "0",
    }
    assert option(args, "-i") == str(SOURCE)


@pytest.mark.parametrize("threads", [0, 1, 2])
def test_the_decoder_gets_the_encoders_threads(threads: int) -> None:
    args = transcode_args(threads=threads)
    decoder, encoder = (i for i, arg in enumerate(args) if arg == "-threads")
    assert decoder < args.index("-i") < encoder
    assert args[decoder + 1] == args[encoder + 1] == str(threads)


def test_transcode_stops_a_little_after_the_probed_duration() -> None:
    # A file whose stream runs far past what its header claims is cut there.
    args = transcode_args(source_info=info(duration=60.0))
    assert option(args, "-t") == "66.2"
    assert args.index("-t") > args.index("-i")  # an output option: the output's length
    assert duration_cap(2.0) == 7.04
    assert duration_cap(3600.0) == 3677.0


def test_accepted_formats_leave_out_playlists_and_scripts() -> None:
    accepted = ACCEPTED_FORMATS.split(",")
    assert {"mov", "matroska", "avi", "mpegts"} <= set(accepted)
    assert not {"hls", "dash", "concat", "imf", "tty"} & set(accepted)


def test_transcode_encoder_settings_come_from_the_profile() -> None:
    args = transcode_args(threads=2)
    assert option(args, "-f") == "mp4"
    assert option(args, "-c:v") == "libx264"
    assert option(args, "-preset") == "veryfast"
    assert option(args, "-crf") == "23"
    assert option(args, "-pix_fmt") == "yuv420p"
    assert option(args, "-movflags") == "+faststart"
    assert option(args, "-threads") == "2"
    assert option(args, "-map_metadata") == "-1"


def test_transcode_keeps_each_frames_timestamp() -> None:
    # Not the mp4 muxer's cfr default, which repeats frames of a VFR source.
    assert option(transcode_args(), "-fps_mode") == "vfr"


@pytest.mark.parametrize(
    ("frame_rate", "graph"),
    [
        (240.0, "[0:0]fps=fps=60[s0];[s0]scale=1280:720[s1]"),
        (60.0, "[0:0]scale=1280:720[s0]"),
        (29.97, "[0:0]scale=1280:720[s0]"),
        (None, "[0:0]scale=1280:720[s0]"),  # ffprobe could not tell: leave it
    ],
)
def test_transcode_caps_the_frame_rate(frame_rate: float | None, graph: str) -> None:
    args = transcode_args(source_info=info(frame_rate=frame_rate))
    assert option(args, "-filter_complex") == graph


def test_transcode_deinterlaces_before_scaling() -> None:
    args = transcode_args(source_info=info(interlaced=True))
    assert option(args, "-filter_complex") == (
        "[0:0]bwdif=deint=interlaced:mode=send_frame:parity=auto[s0];[s0]scale=1280:720[s1]"
    )


def test_progressive_source_is_not_deinterlaced() -> None:
    assert "bwdif" not in option(transcode_args(), "-filter_complex")


def test_transcode_scales_to_explicit_even_size() -> None:
    args = transcode_args(source_info=info(width=321, height=241))
    assert option(args, "-filter_complex") == "[0:0]scale=320:240[s0]"
    assert args[args.index("-filter_complex") + 2 : args.index("-filter_complex") + 4] == [
        "-map",
        "[s0]",
    ]


def test_transcode_portrait() -> None:
    args = transcode_args(source_info=info(width=1080, height=1920))
    assert option(args, "-filter_complex") == "[0:0]scale=720:1280[s0]"


def test_transcode_with_audio_maps_the_probed_stream() -> None:
    args = transcode_args()
    assert "0:1" in args
    assert option(args, "-c:a") == "aac"
    assert option(args, "-b:a") == "128k"
    assert option(args, "-ac") == "2"
    assert "-an" not in args


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        (1, ("1", "64k")),  # mono stays mono, at the stereo bitrate's share
        (2, ("2", "128k")),
        (6, ("2", "128k")),  # 5.1 is mixed down
        (None, ("2", "128k")),  # unknown: the profile's layout
    ],
)
def test_transcode_never_upmixes_the_audio(channels: int | None, expected: tuple[str, str]) -> None:
    args = transcode_args(source_info=dataclasses.replace(info(), audio_channels=channels))
    assert (option(args, "-ac"), option(args, "-b:a")) == expected


def test_transcode_without_audio() -> None:
    args = transcode_args(source_info=info(audio=False))
    assert "-an" in args
    assert "-c:a" not in args
    assert "0:1" not in args


def test_transcode_output_and_global_options() -> None:
    args = transcode_args()
    assert str(TARGET) in args
    tail = args[args.index(str(TARGET)) + 1 :]
    assert tail == ["-v", "error", "-nostats", "-progress", "pipe:1", "-y"]


def test_480p_audio_bitrate() -> None:
    args = transcode_args(profile="480p")
    assert option(args, "-b:a") == "96k"
    assert option(args, "-filter_complex") == "[0:0]scale=854:480[s0]"


@pytest.mark.parametrize(
    ("duration", "expected"), [(2.0, 0.2), (60.0, 6.0), (3600.0, 10.0), (0.5, 0.05)]
)
def test_poster_time(duration: float, expected: float) -> None:
    assert poster_time(duration) == expected


POSTER = PosterFrame(
    target=Path("/media/outputs/j/.poster.jpg.abc.tmp"), at_seconds=6.0, width=1280, height=720
)
# The first frame at or past 6 s, and no other; full-range JPEG colours
# converted in this branch only (commands.poster_output says why).
POSTER_BRANCH = (
    "select=expr=gte(t\\,6.0)*isnan(prev_selected_t)[{0}];"
    "[{0}]scale=1280:720[{1}];[{1}]format=yuvj420p[{2}]"
)
POSTER_OUTPUT = ["-f", "mjpeg", "-frames:v", "1", "-map_metadata", "-1", "-q:v", "3"]


def test_transcode_writes_the_poster_from_the_same_decode() -> None:
    args = transcode_args(poster=POSTER)
    assert args.count("-i") == 1
    assert option(args, "-filter_complex") == (
        "[0:0]split=2[s0][s1];[s0]scale=1280:720[s2];[s1]" + POSTER_BRANCH.format("s3", "s4", "s5")
    )
    target = args.index(str(TARGET))
    # The MP4's options stay with the MP4; the poster's output follows it.
    assert args[target + 1 :] == [
        *("-map", "[s5]", *POSTER_OUTPUT, str(POSTER.target)),
        *("-v", "error", "-nostats", "-progress", "pipe:1", "-y"),
    ]
    assert option(args, "-threads") == "0"
    assert args.index("-threads") < target


def test_poster_command_alone() -> None:
    args = poster_command(
        source=SOURCE, info=info(), poster=POSTER, max_pixels=MAX_PIXELS
    ).get_args()
    assert input_options(args) == {
        "-protocol_whitelist": "file",
        "-format_whitelist": ACCEPTED_FORMATS,
        "-max_pixels": str(MAX_PIXELS),
    }
    assert option(args, "-i") == str(SOURCE)
    assert option(args, "-filter_complex") == "[0:0]" + POSTER_BRANCH.format("s0", "s1", "s2")
    assert args[args.index("-map") :] == [
        *("-map", "[s2]", *POSTER_OUTPUT, str(POSTER.target)),
        *("-v", "error", "-nostats", "-progress", "pipe:1", "-y"),
    ]


def test_poster_of_an_interlaced_source_is_deinterlaced_at_its_frame_rate() -> None:
    stream = poster_command(
        source=SOURCE,
        info=info(interlaced=True, frame_rate=240.0),
        poster=POSTER,
        max_pixels=MAX_PIXELS,
    )
    assert option(stream.get_args(), "-filter_complex") == (
        "[0:0]bwdif=deint=interlaced:mode=send_frame:parity=auto[s0];[s0]"
        + POSTER_BRANCH.format("s1", "s2", "s3")
    )
