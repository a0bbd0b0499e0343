"""The ladder's rungs and its one ffmpeg command, pinned as pure argv (no process runs)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from transcoder.media.ladder import ladder_command, ladder_rungs
from transcoder.media.probe import ACCEPTED_FORMATS
from transcoder.media.storyboard import StoryboardSprite, storyboard_plan

from .test_commands import MAX_PIXELS, POSTER, POSTER_BRANCH, POSTER_OUTPUT, SOURCE, info

FOLDER = Path("/scratch/job.abc/hls")


def rung_sizes(width: int, height: int) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in ladder_rungs(width=width, height=height)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            (1920, 1080),
            [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)],
        ),
        ((1280, 720), [("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]),
        # Between two boxes: the rung above would be an upscale, so it is left out.
        ((1000, 562), [("480p", 854, 480), ("360p", 640, 360)]),
        # Portrait: the boxes turn, as for the MP4 (fit_within).
        ((720, 1280), [("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)]),
        # Ultra-wide: limited by width, the height follows.
        (
            (2560, 1080),
            [("1080p", 1920, 810), ("720p", 1280, 540), ("480p", 854, 360), ("360p", 640, 270)],
        ),
        # Below the lowest box: one rung at its own even size, named for its short side.
        ((320, 240), [("240p", 320, 240)]),
        ((321, 241), [("240p", 320, 240)]),
        ((240, 320), [("240p", 240, 320)]),
    ],
)
def test_rungs_never_upscale(source: tuple[int, int], expected: list[tuple[str, int, int]]) -> None:
    assert rung_sizes(*source) == expected


def command(
    *, width: int = 1920, height: int = 1080, audio: bool = True, progressive: bool = False
) -> list[str]:
    source = info(width=width, height=height, audio=audio, duration=60.0)
    rungs = ladder_rungs(width=width, height=height)
    args: list[str] = ladder_command(
        **{"source": SOURCE, "folder": FOLDER, "rungs": rungs, "info": source},
        **{"threads": 2, "max_pixels": MAX_PIXELS, "progressive": progressive},
    ).get_args()
    return args


def value(args: list[str], option: str) -> str:
    return args[args.index(option) + 1]


HLS_TAIL = [
    *("-force_key_frames", "expr:gte(t,n_forced*4)"),
    *("-f", "hls"),
    *("-fps_mode", "vfr"),
    *("-hls_fmp4_init_filename", "init.mp4"),
    *("-hls_playlist_type", "vod"),
    *("-hls_segment_filename", f"{FOLDER}/%v/seg_%05d.m4s"),
    *("-hls_segment_type", "fmp4"),
    *("-hls_time", "4"),
    *("-map_chapters", "-1", "-map_metadata", "-1"),
    *("-master_pl_name", "master.m3u8"),
]


def test_four_rungs_one_pass() -> None:
    args = command()
    assert args[:10] == [
        *("-format_whitelist", ACCEPTED_FORMATS),
        *("-max_pixels", str(MAX_PIXELS)),
        *("-protocol_whitelist", "file"),
        *("-threads", "2"),  # the decoder's share too
        *("-i", str(SOURCE)),
    ]
    assert value(args, "-filter_complex") == (
        "[0:0]split=4[s0][s1][s2][s3];"
        "[s0]scale=1920:1080[s4];[s1]scale=1280:720[s5];"
        "[s2]scale=854:480[s6];[s3]scale=640:360[s7]"
    )
    maps = [args[i + 1] for i, a in enumerate(args) if a == "-map"]
    assert maps == ["[s4]", "[s5]", "[s6]", "[s7]", "0:1", "0:1", "0:1", "0:1"]
    assert value(args, "-var_stream_map") == (
        "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:480p v:3,a:3,name:360p"
    )
    # Constrained VBR per rung, and per-rung audio.
    assert [value(args, f"-maxrate:v:{i}") for i in range(4)] == ["5000k", "3000k", "1500k", "800k"]
    assert [value(args, f"-bufsize:v:{i}") for i in range(4)] == [
        "10000k",
        "6000k",
        "3000k",
        "1600k",
    ]
    assert [value(args, f"-b:a:{i}") for i in range(4)] == ["128k", "128k", "96k", "64k"]
    assert value(args, "-sc_threshold") == "0"
    assert value(args, "-start_number") == "1"
    assert (value(args, "-c:v"), value(args, "-pix_fmt"), value(args, "-c:a")) == (
        "libx264",
        "yuv420p",
        "aac",
    )
    # The same caps as the MP4: threads, the output duration cap, no metadata.
    assert value(args, "-threads") == "2"
    assert value(args, "-t") == "66.2"
    for option in range(0, len(HLS_TAIL), 2):
        assert value(args, HLS_TAIL[option]) == HLS_TAIL[option + 1]
    assert args[-7:] == [
        f"{FOLDER}/%v/index.m3u8",
        *("-v", "error", "-nostats", "-progress", "pipe:1"),
        "-y",
    ]


def test_a_progressive_ladder_grows_event_playlists_with_short_first_segments() -> None:
    """The same pass, but published while it runs (live.py): EVENT playlists,
    a keyframe each second for the first 4 s, then each 4 s, and the muxer
    cutting at every one of them (hls_time 1)."""
    args = command(progressive=True)
    assert value(args, "-force_key_frames") == (
        "expr:if(lt(t,4),gte(t,n_forced*1),gte(t,4+(n_forced-4)*4))"
    )
    assert value(args, "-hls_playlist_type") == "event"
    assert value(args, "-hls_time") == "1"
    # Everything else is the VOD pass's, option for option, in the same order.
    changed = {"-force_key_frames", "-hls_playlist_type", "-hls_time"}

    def others(argv: list[str]) -> list[str]:
        return [a for i, a in enumerate(argv) if a not in changed and argv[i - 1] not in changed]

    assert others(args) == others(command())


def test_three_rungs_from_720p() -> None:
    args = command(width=1280, height=720)
    assert value(args, "-filter_complex") == (
        "[0:0]split=3[s0][s1][s2];[s0]scale=1280:720[s3];[s1]scale=854:480[s4];"
        "[s2]scale=640:360[s5]"
    )
    assert value(args, "-var_stream_map") == (
        "v:0,a:0,name:720p v:1,a:1,name:480p v:2,a:2,name:360p"
    )


def test_one_rung_needs_no_split() -> None:
    args = command(width=320, height=240)
    assert value(args, "-filter_complex") == "[0:0]scale=320:240[s0]"
    assert value(args, "-var_stream_map") == "v:0,a:0,name:240p"
    assert [args[i + 1] for i, a in enumerate(args) if a == "-map"] == ["[s0]", "0:1"]


def test_no_audio_gives_video_only_variants() -> None:
    args = command(width=1280, height=720, audio=False)
    assert value(args, "-var_stream_map") == "v:0,name:720p v:1,name:480p v:2,name:360p"
    assert "-an" in args
    assert not any(a.startswith(("-b:a", "-c:a")) for a in args)
    assert "0:1" not in args


def test_portrait_scales_to_turned_boxes() -> None:
    args = command(width=1080, height=1920)
    assert value(args, "-filter_complex") == (
        "[0:0]split=4[s0][s1][s2][s3];"
        "[s0]scale=1080:1920[s4];[s1]scale=720:1280[s5];"
        "[s2]scale=480:854[s6];[s3]scale=360:640[s7]"
    )


def test_the_pass_also_writes_the_poster_and_the_storyboard() -> None:
    source = info(width=1280, height=720, duration=60.0)
    rungs = ladder_rungs(width=1280, height=720)
    sprite = StoryboardSprite(
        target=Path("/scratch/job.abc/storyboard.jpg"),
        plan=storyboard_plan(duration=60.0, width=1280, height=720),
    )
    args = ladder_command(
        **{"source": SOURCE, "folder": FOLDER, "rungs": rungs, "info": source},
        **{"threads": 2, "max_pixels": MAX_PIXELS, "poster": POSTER, "storyboard": sprite},
    ).get_args()
    assert args.count("-i") == 1  # one decode feeds every output
    assert value(args, "-filter_complex") == (
        "[0:0]split=5[s0][s1][s2][s3][s4];"
        "[s0]scale=1280:720[s5];[s1]scale=854:480[s6];[s2]scale=640:360[s7];"
        f"[s3]{POSTER_BRANCH.format('s8', 's9', 's10')};"
        "[s4]fps=eof_action=pass:fps=1/1[s11];[s11]scale=160:90[s12];[s12]tile=10x6[s13]"
    )
    playlists = args.index(f"{FOLDER}/%v/index.m3u8")
    # The rungs' options end at their playlists; the side outputs come after.
    assert args[playlists + 1 :] == [
        *("-map", "[s10]", *POSTER_OUTPUT, str(POSTER.target)),
        *("-map", "[s13]", "-f", "mjpeg", "-frames:v", "1", "-map_metadata", "-1"),
        *("-q:v", "4", "-t", "66.2", str(sprite.target)),
        *("-v", "error", "-nostats", "-progress", "pipe:1", "-y"),
    ]


def test_a_mono_source_keeps_one_channel_at_each_rungs_share() -> None:
    source = dataclasses.replace(info(width=1280, height=720), audio_channels=1)
    rungs = ladder_rungs(width=1280, height=720)
    args = ladder_command(
        source=SOURCE, folder=FOLDER, rungs=rungs, info=source, threads=2, max_pixels=MAX_PIXELS
    ).get_args()
    assert value(args, "-ac") == "1"
    assert [value(args, f"-b:a:{i}") for i in range(3)] == ["64k", "48k", "32k"]
