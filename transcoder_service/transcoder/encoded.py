"""A job's outputs, checked: every file ffprobed before it is published.

pipeline.py runs outputs_check while the same files upload. That is safe
because nothing is published until the manifest names it (docs/storage.md):
a failed check costs only the upload, whose objects the attempt deletes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from transcoder.encode import Made, process_limits, timed
from transcoder.media.probe import SourceInfo
from transcoder.media.profiles import PROFILES
from transcoder.media.verify import (
    CheckedRung,
    RenditionInfo,
    verify_ladder,
    verify_poster,
    verify_rendition,
    verify_storyboard,
)
from transcoder.packaging import Storyboard
from transcoder.settings import Settings


@dataclass(frozen=True, kw_only=True)
class Rendition:
    profile: str
    path: Path
    checked: RenditionInfo


@dataclass(frozen=True, kw_only=True)
class Ladder:
    folder: Path
    rungs: list[CheckedRung]


@dataclass(frozen=True, kw_only=True)
class Encoded:
    info: SourceInfo
    renditions: list[Rendition]
    poster: Path
    # Only when "hls" was asked for.
    ladder: Ladder | None = None
    storyboard: Storyboard | None = None


def outputs_check(*, made: Made, settings: Settings, timings: dict[str, float]) -> Encoded:
    """Check every file of `made`; `TranscodeFailed` (or `InvalidMedia`) for the first bad one."""
    limits = process_limits(settings)
    info, ladder = made.info, made.ladder
    # The checks are independent (ffprobe processes, each mostly start-up
    # time, and the JPEGs' decodes), so they run side by side: the stage then
    # costs about one probe instead of one per output (bench/results.md,
    # section 1). Results are read in a fixed order, so the first problem
    # reported is always the same.
    with timed(timings, "verify"), ThreadPoolExecutor(max_workers=len(made.mp4s) + 3) as pool:
        checks = [
            (
                name,
                path,
                pool.submit(
                    verify_rendition,
                    path,
                    label=name,
                    width=width,
                    height=height,
                    pix_fmt=PROFILES[name].pix_fmt,
                    source=info,
                    limits=limits,
                ),
            )
            for name, path, (width, height) in made.mp4s
        ]
        poster_check = pool.submit(verify_poster, made.poster)
        ladder_check = (
            pool.submit(
                verify_ladder, ladder.folder, rungs=ladder.rungs, source=info, limits=limits
            )
            if ladder is not None
            else None
        )
        storyboard_check = (
            pool.submit(
                verify_storyboard,
                ladder.storyboard.sprite,
                plan=ladder.storyboard.plan,
            )
            if ladder is not None
            else None
        )
        renditions = [
            Rendition(profile=name, path=path, checked=check.result())
            for name, path, check in checks
        ]
        poster_check.result()
        checked_rungs = ladder_check.result() if ladder_check is not None else None
        if storyboard_check is not None:
            storyboard_check.result()
    return Encoded(
        info=info,
        renditions=renditions,
        poster=made.poster,
        ladder=(
            Ladder(folder=ladder.folder, rungs=checked_rungs)
            if ladder is not None and checked_rungs is not None
            else None
        ),
        storyboard=ladder.storyboard if ladder is not None else None,
    )
