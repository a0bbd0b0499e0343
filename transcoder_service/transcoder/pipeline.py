"""One transcode job from start to finish, with no Celery in sight.

    lock the job -> return the earlier result if this exact job is done
    -> remove stale temp files -> probe -> transcode each profile to a temp
    file -> poster to a temp file -> verify all -> rename into place
    -> write the manifest

Nothing is renamed into place before everything is verified, so a failed
job never replaces an earlier good output with half of a new one. Any
exception removes this attempt's temp files on the way out.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from transcoder import contract, storage
from transcoder.media.commands import fit_within, poster_command, poster_time, transcode_command
from transcoder.media.probe import SourceInfo, check_limits, probe_source
from transcoder.media.profiles import PROFILES
from transcoder.media.runner import PercentCallback, run_ffmpeg
from transcoder.media.verify import poster_written, verify_poster, verify_rendition
from transcoder.payload import ConvertRequest
from transcoder.progress import ProgressCallback, ProgressReporter
from transcoder.settings import Settings

logger = logging.getLogger(__name__)

# Share of the percentage given to the renditions; the poster and the
# checks after it take the rest, and SUCCESS itself means 100.
_TRANSCODE_SHARE = 95


def convert(
    *,
    request: ConvertRequest,
    media_root: Path,
    on_progress: ProgressCallback,
    settings: Settings,
) -> dict[str, Any]:
    """Run the job and return the SUCCESS result of docs/messages.md."""
    started = time.monotonic()
    reporter = ProgressReporter(emit=on_progress, interval=settings.progress_interval)
    # Checked before anything is created, so a bad path leaves no trace.
    source = storage.resolve_source(media_root=media_root, source_path=request.source_path)
    job_dir = storage.job_directory(media_root=media_root, job_id=request.job_id)
    with storage.job_lock(job_dir):
        earlier = storage.read_manifest(job_dir=job_dir, request=request)
        if earlier is not None:
            logger.info("job %s was already done; returning its result", request.job_id)
            return earlier
        storage.remove_stale_temp_files(job_dir)
        with storage.temp_files(job_dir) as temps:
            result = _run(
                request=request,
                source=source,
                job_dir=job_dir,
                temps=temps,
                reporter=reporter,
                settings=settings,
            )
        result["elapsed_seconds"] = round(time.monotonic() - started, 3)
        storage.write_manifest(job_dir=job_dir, request=request, result=result)
    return result


def _run(
    *,
    request: ConvertRequest,
    source: Path,
    job_dir: Path,
    temps: storage.TempFiles,
    reporter: ProgressReporter,
    settings: Settings,
) -> dict[str, Any]:
    timings: dict[str, float] = {}

    reporter.report(stage=contract.STAGE_PROBING, percent=0)
    with _timed(timings, "probe"):
        info = probe_source(source)
        check_limits(
            info,
            max_source_bytes=settings.max_source_bytes,
            max_duration_seconds=settings.max_duration_seconds,
            max_pixels=settings.max_pixels,
        )
    logger.info("job %s source: %s", request.job_id, info)

    renditions: list[tuple[str, Path, tuple[int, int]]] = []
    with _timed(timings, "transcode"):
        for index, name in enumerate(request.profiles):
            temp = temps.new(contract.rendition_filename(name))
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
                    target=temp,
                    profile=profile,
                    info=info,
                    threads=settings.ffmpeg_threads,
                ),
                duration=info.duration,
                on_progress=_rendition_progress(reporter, index=index, count=len(request.profiles)),
                job_id=request.job_id,
                nice=settings.ffmpeg_nice,
            )
            renditions.append((name, temp, size))

    reporter.report(stage=contract.STAGE_POSTER, percent=_TRANSCODE_SHARE)
    poster_temp = temps.new(contract.POSTER_FILENAME)
    with _timed(timings, "poster"):
        # Same size as the first (normally the largest) rendition.
        width, height = renditions[0][2]
        # A video whose only picture comes before poster_time (a single
        # frame, or one picture under a longer soundtrack) has nothing there,
        # and ffmpeg then writes no file but exits with 0: take its first frame.
        for at_seconds in (poster_time(info.duration), 0.0):
            run_ffmpeg(
                poster_command(
                    source=source,
                    target=poster_temp,
                    info=info,
                    at_seconds=at_seconds,
                    width=width,
                    height=height,
                ),
                duration=info.duration,
                on_progress=lambda percent: None,  # one frame: nothing worth reporting
                job_id=request.job_id,
                nice=settings.ffmpeg_nice,
            )
            if poster_written(poster_temp):
                break

    outputs = []
    with _timed(timings, "verify"):
        for name, temp, (width, height) in renditions:
            checked = verify_rendition(
                temp,
                label=name,
                width=width,
                height=height,
                pix_fmt=PROFILES[name].pix_fmt,
                source=info,
            )
            filename = contract.rendition_filename(name)
            outputs.append(
                {
                    "profile": name,
                    "path": storage.relative_output_path(job_id=request.job_id, filename=filename),
                    "width": checked.width,
                    "height": checked.height,
                    "duration": round(checked.duration, 3),
                    "size_bytes": checked.size_bytes,
                    "video_codec": checked.video_codec,
                    "audio_codec": checked.audio_codec,
                }
            )
        verify_poster(poster_temp)

    for name, temp, _size in renditions:
        storage.publish(temp=temp, final=job_dir / contract.rendition_filename(name))
    storage.publish(temp=poster_temp, final=job_dir / contract.POSTER_FILENAME)

    return {
        "contract_version": request.contract_version,
        "job_id": request.job_id,
        "source": _source_summary(info),
        "outputs": outputs,
        "poster_path": storage.relative_output_path(
            job_id=request.job_id, filename=contract.POSTER_FILENAME
        ),
        "elapsed_seconds": None,  # set by convert(), which also counts the lock wait
        "timings": timings,
    }


def _rendition_progress(reporter: ProgressReporter, *, index: int, count: int) -> PercentCallback:
    """Map one rendition's 0-100 onto its slice of the whole job's percentage."""

    def report(percent: int) -> None:
        overall = (index * 100 + percent) * _TRANSCODE_SHARE // (count * 100)
        reporter.report(stage=contract.STAGE_TRANSCODING, percent=overall)

    return report


def _source_summary(info: SourceInfo) -> dict[str, Any]:
    return {
        "duration": round(info.duration, 3),
        "width": info.width,
        "height": info.height,
        "video_codec": info.video_codec,
        "audio_codec": info.audio_codec,
        "format": info.format,
        "size_bytes": info.size_bytes,
    }


@contextlib.contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        timings[stage] = round(time.monotonic() - started, 3)
