"""One transcode job from start to finish, with no Celery in sight.

    sweep dead scratch -> return the manifest's result if this job is done
    -> refuse a job whose earlier deliveries died (attempts.py), mark this one
    -> download the source into this attempt's scratch folder
    -> probe, transcode (encode.py); the ladder, first, is published
       while it is made, under the same keys as the final outputs (live.py)
    -> upload to outputs/<job_id>/<attempt>/ and HEAD each object not yet
       there (publish.py; the playlists, now VOD, last), while encoded.py
       checks the same files
    -> create the manifest, naming every object, only if absent

Each delivery writes under its own random attempt prefix, so two deliveries
of one job, on one host or two, never overwrite each other's objects; the
manifest's conditional create settles which one counts (docs/storage.md,
"Idempotency without a shared lock"). The scratch folder goes in every case,
and a failed or losing attempt deletes its own objects. No failure leaves
with a scratch path in its sentence (redact.py).
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from transcoder import contract, metrics, telemetry
from transcoder.attempts import attempt_marked
from transcoder.encode import Made, Shares, media_make, timed
from transcoder.encoded import Encoded, outputs_check
from transcoder.live import LadderPublisher
from transcoder.manifest import manifest_create, manifest_read
from transcoder.media.probe import SourceInfo
from transcoder.objectstore import DownloadProgress, ObjectStore
from transcoder.payload import ConvertRequest, DeleteRequest
from transcoder.progress import ProgressCallback, ProgressReporter
from transcoder.publish import Upload, result_fields, uploads_planned, uploads_run
from transcoder.redact import failures_redacted
from transcoder.scratch import attempt_folder, scratch_sweep
from transcoder.settings import Settings

logger = logging.getLogger(__name__)

# The job's 0-100, by stage: download, probe, transcode, poster, upload.
# Encoding dominates; the transfers are fast on the store's own network.
_SHARES = Shares(probe=5, transcode_end=90)
_UPLOAD_START = 92
_UPLOAD_END = 99
# A source key's extension is kept in scratch, where it is a hint for
# ffprobe (raw streams have no header to go by); anything else is dropped.
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


def convert(
    *,
    request: ConvertRequest,
    store: ObjectStore,
    on_progress: ProgressCallback,
    settings: Settings,
) -> dict[str, Any]:
    """Run the job and return the SUCCESS result of docs/messages.md."""
    with failures_redacted(scratch_dir=settings.scratch_dir):
        return _convert(request=request, store=store, on_progress=on_progress, settings=settings)


def _convert(
    *,
    request: ConvertRequest,
    store: ObjectStore,
    on_progress: ProgressCallback,
    settings: Settings,
) -> dict[str, Any]:
    started = time.monotonic()
    reporter = ProgressReporter(emit=on_progress, interval=settings.progress_interval)
    # Before each job, not only at start-up: a pool process killed by the
    # hard time limit leaves its folder behind while the worker runs on.
    scratch_sweep(scratch_dir=settings.scratch_dir)
    earlier = manifest_read(store=store, request=request)
    if earlier is not None:
        logger.info("job %s was already done; returning its result", request.job_id)
        return earlier

    attempt = secrets.token_hex(contract.ATTEMPT_BYTES)
    prefix = contract.attempt_prefix(job_id=request.job_id, attempt=attempt)
    timings: dict[str, float] = {}
    name = f"{request.job_id}.{attempt}"
    with (
        attempt_marked(store=store, job_id=request.job_id, attempt=attempt),
        attempt_folder(scratch_dir=settings.scratch_dir, name=name) as folder,
    ):
        source = folder / f"source{_safe_suffix(request.source_key)}"
        reporter.report(stage=contract.STAGE_DOWNLOADING, percent=0)
        with timed(timings, "download"):
            store.source_download(
                key=request.source_key,
                target=source,
                max_bytes=settings.max_source_bytes,
                on_progress=_download_progress(reporter),
            )
        metrics.bytes_transferred(direction="downloaded", count=source.stat().st_size)
        publisher = LadderPublisher(store=store, prefix=prefix, on_preview=reporter.preview_set)
        try:
            made = media_make(
                request=request,
                source=source,
                folder=folder,
                reporter=reporter,
                settings=settings,
                shares=_SHARES,
                timings=timings,
                watch=publisher.watching,
            )
            uploads = uploads_planned(made=made, prefix=prefix)
            encoded = _uploaded_and_verified(
                made=made,
                # What the publisher already stored, unchanged since, stays.
                uploads=[u for u in uploads if not publisher.holds(key=u.key, path=u.path)],
                store=store,
                reporter=reporter,
                settings=settings,
                timings=timings,
            )
            metrics.bytes_transferred(direction="uploaded", count=publisher.uploaded_bytes)
            fields = result_fields(encoded=encoded, prefix=prefix)
            result = {
                "contract_version": request.contract_version,
                "job_id": request.job_id,
                "source": _source_summary(encoded.info),
                "outputs": fields.pop("outputs"),
                "poster_key": fields.pop("poster_key"),
                "manifest_key": contract.manifest_key(request.job_id),
                "elapsed_seconds": round(time.monotonic() - started, 3),
                "timings": timings,
                **fields,
            }
            with telemetry.stage("manifest"):
                winner = manifest_create(
                    store=store,
                    request=request,
                    result=result,
                    objects={upload.key: upload.size for upload in uploads},
                )
        except BaseException:
            # Objects no manifest names are leftovers anyway (the ladder in
            # progress among them); deleting them now keeps the bucket tidy.
            # Best effort: the store may be the very thing that failed.
            _attempt_discard(store=store, prefix=prefix)
            raise
    if winner is not None:
        _attempt_discard(store=store, prefix=prefix)
        return winner
    _others_discard(store=store, job_id=request.job_id, kept=prefix)
    return result


def _uploaded_and_verified(
    *,
    made: Made,
    uploads: list[Upload],
    store: ObjectStore,
    reporter: ProgressReporter,
    settings: Settings,
    timings: dict[str, float],
) -> Encoded:
    """Upload `made`'s files while they are checked, side by side.

    The checks are mostly ffprobe start-up and the uploads mostly waiting on
    the store, so together they take about as long as the longer of the two.
    """
    with ThreadPoolExecutor(max_workers=1) as checker:
        # In a copy of this context, so the check's spans and log lines belong to the job.
        checking = checker.submit(
            contextvars.copy_context().run,
            outputs_check,
            made=made,
            settings=settings,
            timings=timings,
        )
        try:
            with timed(timings, "upload"):
                uploads_run(
                    store=store,
                    uploads=uploads,
                    reporter=reporter,
                    stage=contract.STAGE_UPLOADING,
                    start=_UPLOAD_START,
                    end=_UPLOAD_END,
                )
            metrics.bytes_transferred(
                direction="uploaded", count=sum(upload.size for upload in uploads)
            )
        except BaseException:
            # A bad output is the failure to report (it is final), not the
            # transfer's (which would be retried and fail the same check).
            checking.result()
            raise
        return checking.result()


def outputs_delete(*, request: DeleteRequest, store: ObjectStore) -> int:
    """Delete every object of the job, manifest first; return how many there were.

    The manifest goes first so that, if this is interrupted, no manifest is
    left naming objects that are gone: a later delivery then transcodes anew.
    """
    return store.prefix_delete(
        prefix=contract.job_prefix(request.job_id),
        first=contract.manifest_key(request.job_id),
    )


def _others_discard(*, store: ObjectStore, job_id: str, kept: str) -> None:
    """Delete what other attempts left under the job, now that its manifest is this one's.

    An attempt that gave up on a stalled store could not remove its own
    objects (the removal met the same stall), and a store that was frozen
    stores its requests when it thaws. Named by no manifest, they would stay.
    A later late attempt removes its own when it finds the manifest.
    """
    manifest = contract.manifest_key(job_id)
    try:
        keys = store.keys_list(prefix=contract.job_prefix(job_id))
    except Exception:
        logger.warning("could not list job %s's objects to tidy them", job_id, exc_info=True)
        return
    others = {
        key[: key.index("/", len(contract.job_prefix(job_id))) + 1]
        for key in keys
        if key != manifest and not key.startswith(kept) and key.count("/") > 2
    }
    for prefix in sorted(others):
        _attempt_discard(store=store, prefix=prefix)


def _attempt_discard(*, store: ObjectStore, prefix: str) -> None:
    try:
        store.prefix_delete(prefix=prefix)
    except Exception:
        logger.warning("could not delete this attempt's objects under %s", prefix, exc_info=True)


def _download_progress(reporter: ProgressReporter) -> DownloadProgress:
    def report(done: int, total: int) -> None:
        if total > 0:
            reporter.report(stage=contract.STAGE_DOWNLOADING, percent=done * _SHARES.probe // total)

    return report


def _safe_suffix(key: str) -> str:
    suffix = PurePosixPath(key).suffix
    return suffix.lower() if _SAFE_SUFFIX.fullmatch(suffix) else ""


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
