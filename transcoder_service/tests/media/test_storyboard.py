"""The storyboard's grid, its VTT and its ffmpeg output: pure functions, no process runs."""

from __future__ import annotations

from pathlib import Path

import ffmpeg
import pytest

from transcoder.media.storyboard import (
    StoryboardSprite,
    storyboard_output,
    storyboard_plan,
    storyboard_vtt,
)

from .test_commands import SOURCE


@pytest.mark.parametrize(
    ("duration", "size", "expected"),
    [
        # (interval, count, columns, rows, tile_width, tile_height)
        (2.0, (320, 240), (1.0, 2, 2, 1, 160, 120)),
        (6.0, (1280, 720), (1.0, 6, 6, 1, 160, 90)),
        (25.3, (1280, 720), (1.0, 26, 10, 3, 160, 90)),
        # A long video: at most 100 tiles, the interval grows in whole seconds.
        (3600.0, (1920, 1080), (36.0, 100, 10, 10, 160, 90)),
        (1000.5, (1920, 1080), (11.0, 91, 10, 10, 160, 90)),
        # Portrait: 160 wide would be 284 tall, the cap; taller still narrows.
        (2.0, (720, 1280), (1.0, 2, 2, 1, 160, 284)),
        (2.0, (100, 1000), (1.0, 2, 2, 1, 28, 284)),
    ],
)
def test_plan(
    duration: float, size: tuple[int, int], expected: tuple[float, int, int, int, int, int]
) -> None:
    plan = storyboard_plan(duration=duration, width=size[0], height=size[1])
    got = (plan.interval, plan.count, plan.columns, plan.rows, plan.tile_width, plan.tile_height)
    assert got == expected
    assert plan.count <= 100
    assert plan.columns * plan.rows >= plan.count


def test_vtt_cues_cover_the_duration_and_walk_the_grid() -> None:
    plan = storyboard_plan(duration=12.5, width=1280, height=720)
    assert (plan.columns, plan.rows) == (10, 2)
    vtt = storyboard_vtt(plan=plan, duration=12.5)
    assert vtt.startswith("WEBVTT\n\n")
    cues = [block.splitlines() for block in vtt.split("\n\n")[1:] if block.strip()]
    assert len(cues) == 13
    assert cues[0] == ["00:00:00.000 --> 00:00:01.000", "storyboard.jpg#xywh=0,0,160,90"]
    assert cues[9] == ["00:00:09.000 --> 00:00:10.000", "storyboard.jpg#xywh=1440,0,160,90"]
    assert cues[10] == ["00:00:10.000 --> 00:00:11.000", "storyboard.jpg#xywh=0,90,160,90"]
    # The last cue ends at the duration, not at the next whole interval.
    assert cues[12] == ["00:00:12.000 --> 00:00:12.500", "storyboard.jpg#xywh=320,90,160,90"]


def test_vtt_timestamps_past_an_hour() -> None:
    plan = storyboard_plan(duration=3725.0, width=1280, height=720)
    vtt = storyboard_vtt(plan=plan, duration=3725.0)
    assert "01:02:04.000 --> 01:02:05.000" in vtt


def test_output() -> None:
    plan = storyboard_plan(duration=60.0, width=1920, height=1080)
    target = Path("/scratch/job.abc/storyboard.jpg")
    upright = ffmpeg.input(str(SOURCE))["0"]
    args = storyboard_output(
        upright, sprite=StoryboardSprite(target=target, plan=plan), duration=60.0
    ).get_args()
    assert args == [
        *("-i", str(SOURCE)),
        *(
            "-filter_complex",
            "[0:0]fps=eof_action=pass:fps=1/1[s0];[s0]scale=160:90[s1];[s1]tile=10x6[s2]",
        ),
        *("-map", "[s2]", "-f", "mjpeg", "-frames:v", "1", "-map_metadata", "-1"),
        *("-q:v", "4", "-t", "66.2", str(target)),
    ]
