"""The local part of a job: probe, transcode and verify, all on scratch files.

    probe the source -> check limits -> the HLS ladder, if asked, also
    writing the storyboard and the poster (packaging.py; published while it
    is made, live.py) -> one ffmpeg per MP4 profile, the first also writing
    the poster if the ladder did not

(With HLS_PROGRESSIVE off, the ladder comes after the MP4s, as it used to.)

encoded.py then checks every output. Nothing here knows about the object
store or Celery: it reads one local file and writes into one local folder,
which pipeline.py owns and removes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from transcoder import contract, telemetry
from transcoder.media.commands import (
    PosterFrame,
    fit_within,
    poster_command,
    poster_time,
    transcode_command,
)
from transcoder.media.ladder import ladder_rungs
from transcoder.media.probe import SourceInfo, check_limits, probe_source
from transcoder.media.profiles import PROFILES
from transcoder.media.runner import PercentCallback, ProcessLimits, run_ffmpeg
from transcoder.media.verify import poster_written
from transcoder.packaging import LadderWatch, Packaged, ladder_make
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
class Made:
    """Every file of a job, written but not yet checked."""

    info: SourceInfo
    # Each MP4's profile name, file and planned size.
    mp4s: list[tuple[str, Path, tuple[int, int]]]
    poster: Path
    # Only when "hls" was asked for.
    ladder: Packaged | None = None


# The ladder's share of the transcoding stage, counted in MP4 renditions:
# its rungs together hold about twice the pixels of the largest one.
_LADDER_WEIGHT = 2


def media_make(
    *,
    request: ConvertRequest,
    source: Path,
    folder: Path,
    reporter: ProgressReporter,
    settings: Settings,
    shares: Shares,
    timings: dict[str, float],
    watch: LadderWatch | None = None,
) -> Made:
    """Make every output of `request` in `folder`; outputs_check checks them.

    `watch` wraps the ladder's pass when it is published as it is made
    (settings.hls_progressive; pipeline.py gives live.py's publisher).
    """
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

    mp4s = [
        (name, folder / contract.rendition_filename(name), _mp4_size(info, profile=name))
        for name in request.mp4_profiles
    ]
    rungs = ladder_rungs(width=info.width, height=info.height) if request.wants_hls else []
    # The poster is as large as the first (normally the largest) rendition, or
    # as the ladder's top rung when only the ladder was asked for, and is
    # written by the first pass, whichever it is.
    width, height = mp4s[0][2] if mp4s else (rungs[0].width, rungs[0].height)
    poster = PosterFrame(
        target=folder / contract.POSTER_FILENAME,
        at_seconds=poster_time(info.duration),
        width=width,
        height=height,
    )
    units = len(mp4s) + (_LADDER_WEIGHT if rungs else 0)
    # Published while it is made (live.py), the ladder goes first: the page
    # plays it before the MP4s are even started. Its pass then writes the
    # poster, at the size it always has.
    ladder_first = bool(rungs) and settings.hls_progressive

    def ladder_pass(*, start: int, poster: PosterFrame | None) -> Packaged:
        # One ffmpeg pass writes every rung and the storyboard's sprite.
        with (
            telemetry.stage("ladder", media_seconds=info.duration, rungs=len(rungs)),
            pass_timed(timings, contract.PROFILE_HLS),
        ):
            return ladder_make(
                source=source,
                folder=folder,
                info=info,
                rungs=rungs,
                threads=threads_now(
                    configured=settings.ffmpeg_threads, scratch_dir=settings.scratch_dir
                ),
                poster=poster,
                limits=limits,
                job_id=request.job_id,
                on_progress=_rendition_progress(
                    reporter, start=start, weight=_LADDER_WEIGHT, units=units, shares=shares
                ),
                progressive=settings.hls_progressive,
                watch=watch if settings.hls_progressive else None,
            )

    ladder = None
    # Held from the first ffmpeg to the last, so other jobs on this host
    # size their ffmpegs knowing this one runs (slots.py).
    with encoding_slot(folder=folder), timed(timings, "transcode"):
        # Now, not at the first figure from ffmpeg, which may come late (live.py).
        reporter.report(stage=contract.STAGE_TRANSCODING, percent=shares.probe)
        if ladder_first:
            ladder = ladder_pass(start=0, poster=poster)
        for index, (name, target, _) in enumerate(mp4s):
            with (
                telemetry.stage("encode", media_seconds=info.duration, profile=name),
                pass_timed(timings, name),
            ):
                run_ffmpeg(
                    transcode_command(
                        source=source,
                        target=target,
                        profile=PROFILES[name],
                        info=info,
                        threads=threads_now(
                            configured=settings.ffmpeg_threads, scratch_dir=settings.scratch_dir
                        ),
                        max_pixels=limits.max_pixels,
                        poster=poster if index == 0 and not ladder_first else None,
                    ),
                    duration=info.duration,
                    on_progress=_rendition_progress(
                        reporter,
                        start=index + (_LADDER_WEIGHT if ladder_first else 0),
                        weight=1,
                        units=units,
                        shares=shares,
                    ),
                    job_id=request.job_id,
                    limits=limits,
                )
        if rungs and not ladder_first:
            ladder = ladder_pass(start=len(mp4s), poster=None if mp4s else poster)
    reporter.report(stage=contract.STAGE_POSTER, percent=shares.transcode_end)
    with timed(timings, "poster"):
        if not poster_written(poster.target):
            # A video whose only picture comes before the poster's time (a
            # single frame, or one picture under a longer soundtrack) gave the
            # pass no frame to take, and ffmpeg exits with 0 all the same.
            run_ffmpeg(
                poster_command(
                    source=source,
                    info=info,
                    poster=PosterFrame(
                        target=poster.target, at_seconds=0.0, width=width, height=height
                    ),
                    max_pixels=limits.max_pixels,
                ),
                duration=info.duration,
                on_progress=lambda percent: None,  # one frame: nothing worth reporting
                job_id=request.job_id,
                limits=limits,
            )
    return Made(info=info, mp4s=mp4s, poster=poster.target, ladder=ladder)


def _mp4_size(info: SourceInfo, *, profile: str) -> tuple[int, int]:
    # The same pure function transcode_command uses; kept here to check the
    # output's size and to size the poster.
    box = PROFILES[profile]
    return fit_within(
        width=info.width, height=info.height, box_width=box.box_width, box_height=box.box_height
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
    """Record how long the block took, in seconds, as `timings[stage]`; trace it as a stage."""
    started = time.monotonic()
    try:
        with telemetry.stage(stage):
            yield
    finally:
        timings[stage] = round(time.monotonic() - started, 3)


@contextlib.contextmanager
def pass_timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Record one encode pass as `timings["encode:<n>:<name>"]`, n counting passes from 1.

    The order is in the key: a JSON object's keys keep none a receiver can
    count on (PostgreSQL's jsonb sorts them), and the web draws the passes
    in the order they ran (docs/messages.md).
    """
    key = f"encode:{sum(k.startswith('encode:') for k in timings) + 1}:{name}"
    started = time.monotonic()
    try:
        yield
    finally:
        timings[key] = round(time.monotonic() - started, 3)
