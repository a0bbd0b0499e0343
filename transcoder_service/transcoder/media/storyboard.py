"""The storyboard: thumbnails every few seconds, tiled into one JPEG, and the WebVTT naming them.

Players show a tile while the viewer drags along the timeline. The grid is
decided here, in Python, before ffmpeg runs, so the VTT is written from the
same numbers the `tile` filter used and never has to be read back from the
picture. Pure functions; the sprite is one more output of the ladder's pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from transcoder import contract
from transcoder.media.commands import duration_cap

# At most about this many tiles, whatever the length: a sprite of a
# two-hour film stays one small download.
MAX_TILES = 100
MIN_INTERVAL_SECONDS = 1.0
TILE_WIDTH = 160
# A very tall source would otherwise make tiles (and the sprite) huge.
MAX_TILE_HEIGHT = 284
COLUMNS = 10


@dataclass(frozen=True, kw_only=True)
class StoryboardPlan:
    interval: float
    count: int
    columns: int
    rows: int
    tile_width: int
    tile_height: int

    @property
    def sprite_size(self) -> tuple[int, int]:
        return self.columns * self.tile_width, self.rows * self.tile_height


@dataclass(frozen=True, kw_only=True)
class StoryboardSprite:
    """The sprite as one more output of a pass that decodes the source anyway."""

    target: Path
    plan: StoryboardPlan


def storyboard_plan(*, duration: float, width: int, height: int) -> StoryboardPlan:
    """The interval and grid for a `duration`-second, `width`x`height` video."""
    # Whole seconds: cue times stay exact in the VTT.
    interval = max(MIN_INTERVAL_SECONDS, float(math.ceil(duration / MAX_TILES)))
    count = max(1, math.ceil(duration / interval - 1e-6))
    tile_width, tile_height = TILE_WIDTH, _even(TILE_WIDTH * height / width)
    if tile_height > MAX_TILE_HEIGHT:
        tile_width, tile_height = _even(MAX_TILE_HEIGHT * width / height), MAX_TILE_HEIGHT
    columns = min(COLUMNS, count)
    return StoryboardPlan(
        interval=interval,
        count=count,
        columns=columns,
        rows=math.ceil(count / columns),
        tile_width=tile_width,
        tile_height=tile_height,
    )


def storyboard_output(
    upright: ffmpeg.nodes.FilterableStream,
    *,
    sprite: StoryboardSprite,
    duration: float,
) -> ffmpeg.nodes.OutputStream:
    """The sprite, from the frames of `upright`, as one JPEG.

    An output of the ladder's pass (ladder.py), which decodes the source anyway.
    """
    plan = sprite.plan
    picture = (
        # One frame per interval, the first at 0 s: tile i is cue i's start.
        # eof_action=pass: with the default (round) a source that ends
        # before its first interval does (one frame, 0.3 s) yields no frame
        # at all, and so no sprite.
        upright.filter("fps", fps=f"1/{plan.interval:g}", eof_action="pass")
        # A converting filter before `tile`, so the JPEG's full-range format
        # stays in this branch (commands.poster_output says why).
        .filter("scale", plan.tile_width, plan.tile_height)
        .filter("tile", f"{plan.columns}x{plan.rows}")
    )
    return ffmpeg.output(
        picture,
        str(sprite.target),
        format="mjpeg",
        # One sprite: should the fps filter round up to one frame more
        # than the grid holds, it would start a second picture.
        **{"frames:v": 1, "q:v": 4},
        t=duration_cap(duration),
        map_metadata=-1,
    )


def storyboard_vtt(*, plan: StoryboardPlan, duration: float) -> str:
    """The WebVTT: cue i shows tile i over [i*interval, (i+1)*interval), the last to `duration`."""
    lines = ["WEBVTT", ""]
    for index in range(plan.count):
        start = index * plan.interval
        end = duration if index == plan.count - 1 else (index + 1) * plan.interval
        row, column = divmod(index, plan.columns)
        x, y = column * plan.tile_width, row * plan.tile_height
        lines += [
            f"{_timestamp(start)} --> {_timestamp(max(end, start + 0.001))}",
            f"{contract.STORYBOARD_SPRITE_FILENAME}#xywh={x},{y},{plan.tile_width},{plan.tile_height}",
            "",
        ]
    return "\n".join(lines)


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def _even(value: float) -> int:
    return max(2, int(value / 2 + 0.5) * 2)
