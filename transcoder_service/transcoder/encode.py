"""The local part of a job: probe, transcode, poster and verify, all on scratch files.

    probe the source -> check limits -> one ffmpeg per profile -> the HLS
    ladder, if asked (packaging.py) -> poster (and storyboard) -> verify every
    output with ffprobe

Nothing here knows about the object store or Celery: it reads one local file
and writes into one local folder, which pipeline.py owns and removes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from transcoder import contract
from transcoder.media.commands import fit_within, poster_command, poster_time, transcode_command
from transcoder.media.ladder import PlannedRung
from transcoder.media.probe import SourceInfo, check_limits, probe_source
from transcoder.media.profiles import PROFILES
from transcoder.media.runner import PercentCallback, ProcessLimits, run_ffmpeg
from transcoder.media.verify import (
    CheckedRung,
    RenditionInfo,
    poster_written,
    verify_ladder,
    verify_poster,
    verify_rendition,
    verify_storyboard,
)
from transcoder.packaging import Storyboard, ladder_make, storyboard_make
from transcoder.payload import ConvertRequest
from transcoder.progress import ProgressReporter
from transcoder.settings import Settings
from transcoder.slots import encoding_slot, threads_now

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Shares:
    """Where each stage starts on the job's 0-100 scale (the rest is upload)."""

    probe: int
    transcode_end: int


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


# The ladder's share of the transcoding stage, counted in MP4 renditions:
# its rungs together hold about twice the pixels of the largest one.
_LADDER_WEIGHT = 2


def media_encode(
    *,
    request: ConvertRequest,
    source: Path,
    folder: Path,
    reporter: ProgressReporter,
    settings: Settings,
    shares: Shares,
    timings: dict[str, float],
) -> Encoded:
    """Make and check every output of `request` in `folder`."""
    limits = process_limits(settings)
    reporter.report(stage=contract.STAGE_PROBING, percent=shares.probe)
    with timed(timings, "probe"):
        info = probe_source(source, limits=limits)
        check_limits(
            info,
            max_source_bytes=settings.max_source_bytes,
            max_duration_seconds=settings.max_duration_seconds,
            max_pixels=settings.max_pixels,
        )
    logger.info("job %s source: %s", request.job_id, info)

    sized: list[tuple[str, Path, tuple[int, int]]] = []
    mp4_profiles = request.mp4_profiles
    units = len(mp4_profiles) + (_LADDER_WEIGHT if request.wants_hls else 0)
    hls: tuple[Path, list[PlannedRung]] | None = None
    # Held from the first ffmpeg to the last, so other jobs on this host
    # size their ffmpegs knowing this one runs (slots.py).
    with encoding_slot(folder=folder):
        with timed(timings, "transcode"):
            for index, name in enumerate(mp4_profiles):
                target = folder / contract.rendition_filename(name)
                profile = PROFILES[name]
                # The same pure function transcode_command uses; kept here to
                # check the output's size and to size the poster.
                size = fit_within(
                    width=info.width,
                    height=info.height,
                    box_width=profile.box_width,
                    box_height=profile.box_height,
                )
                run_ffmpeg(
                    transcode_command(
                        source=source,
                        target=target,
                        profile=profile,
                        info=info,
                        threads=threads_now(
                            configured=settings.ffmpeg_threads, scratch_dir=settings.scratch_dir
                        ),
                        max_pixels=limits.max_pixels,
                    ),
                    duration=info.duration,
                    on_progress=_rendition_progress(
                        reporter, start=index, weight=1, units=units, shares=shares
                    ),
                    job_id=request.job_id,
                    limits=limits,
                )
                sized.append((name, target, size))
            if request.wants_hls:
                hls = ladder_make(
                    source=source,
                    folder=folder,
                    info=info,
                    threads=threads_now(
                        configured=settings.ffmpeg_threads, scratch_dir=settings.scratch_dir
                    ),
                    limits=limits,
                    job_id=request.job_id,
                    on_progress=_rendition_progress(
                        reporter,
                        start=len(mp4_profiles),
                        weight=_LADDER_WEIGHT,
                        units=units,
                        shares=shares,
                    ),
                )

        reporter.report(stage=contract.STAGE_POSTER, percent=shares.transcode_end)
        poster = folder / contract.POSTER_FILENAME
        with timed(timings, "poster"):
            # Same size as the first (normally the largest) rendition, or as the
            # ladder's top rung when only the ladder was asked for.
            if sized:
                width, height = sized[0][2]
            else:
                assert hls is not None  # a request holds at least one profile
                width, height = hls[1][0].width, hls[1][0].height
            # A video whose only picture comes before poster_time (a single
            # frame, or one picture under a longer soundtrack) has nothing there,
            # and ffmpeg then writes no file but exits with 0: take its first frame.
            for at_seconds in (poster_time(info.duration), 0.0):
                run_ffmpeg(
                    poster_command(
                        source=source,
                        target=poster,
                        info=info,
                        at_seconds=at_seconds,
                        width=width,
                        height=height,
                        max_pixels=limits.max_pixels,
                    ),
                    duration=info.duration,
                    on_progress=lambda percent: None,  # one frame: nothing worth reporting
                    job_id=request.job_id,
                    limits=limits,
                )
                if poster_written(poster):
                    break
            storyboard = (
                storyboard_make(
                    source=source, folder=folder, info=info, limits=limits, job_id=request.job_id
                )
                if hls is not None
                else None
            )

    # The checks are independent ffprobe processes, each mostly start-up
    # time, so they run side by side: the stage then costs about one probe
    # instead of one per output (bench/results.md, section 1). Results are
    # read in the old order, so the first problem reported is the same.
    with timed(timings, "verify"), ThreadPoolExecutor(max_workers=len(sized) + 3) as pool:
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
            for name, path, (width, height) in sized
        ]
        poster_check = pool.submit(verify_poster, poster, limits=limits)
        ladder_check = (
            pool.submit(verify_ladder, hls[0], rungs=hls[1], source=info, limits=limits)
            if hls is not None
            else None
        )
        storyboard_check = (
            pool.submit(verify_storyboard, storyboard.sprite, plan=storyboard.plan, limits=limits)
            if storyboard is not None
            else None
        )
        renditions = [
            Rendition(profile=name, path=path, checked=check.result())
            for name, path, check in checks
        ]
        poster_check.result()
        ladder = (
            Ladder(folder=hls[0], rungs=ladder_check.result())
            if hls is not None and ladder_check is not None
            else None
        )
        if storyboard_check is not None:
            storyboard_check.result()
    return Encoded(
        info=info, renditions=renditions, poster=poster, ladder=ladder, storyboard=storyboard
    )


def process_limits(settings: Settings) -> ProcessLimits:
    """What each ffmpeg and ffprobe of a job runs under."""
    return ProcessLimits(
        nice=settings.ffmpeg_nice,
        memory_limit_bytes=settings.ffmpeg_memory_limit_bytes,
        probe_timeout=settings.probe_timeout,
        max_pixels=settings.max_pixels,
    )


def _rendition_progress(
    reporter: ProgressReporter, *, start: int, weight: int, units: int, shares: Shares
) -> PercentCallback:
    """Map one ffmpeg's 0-100 onto its slice (`weight` of `units`, after `start`) of the job."""
    span = shares.transcode_end - shares.probe

    def report(percent: int) -> None:
        overall = shares.probe + (start * 100 + percent * weight) * span // (units * 100)
        reporter.report(stage=contract.STAGE_TRANSCODING, percent=overall)

    return report


@contextlib.contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Record how long the block took, in seconds, as `timings[stage]`."""
    started = time.monotonic()
    try:
        yield
    finally:
        timings[stage] = round(time.monotonic() - started, 3)
