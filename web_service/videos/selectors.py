"""Reads (HackSoft styleguide: selectors read, services write).

Every read of videos takes the person asking: another person's video is
simply not found, so nobody learns that it exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet, Subquery, Sum

from jobs.messaging import contract
from jobs.models import JobStatus, TranscodeJob
from videos.models import Video


def video_list(
    *, owner: AbstractBaseUser, ids: Collection[uuid.UUID] | None = None
) -> QuerySet[Video]:
    """The owner's videos with their current job, newest first; only `ids` when given.

    An id of someone else's video, or of none, is simply left out.
    """
    videos = Video.objects.filter(owner_id=owner.pk)
    if ids is not None:
        videos = videos.filter(pk__in=ids)
    return videos.select_related("current_job").order_by("-created_at")


def video_get(*, owner: AbstractBaseUser, video_id: uuid.UUID) -> Video | None:
    return video_list(owner=owner).filter(pk=video_id).first()


@dataclass(frozen=True)
class ServableOutput:
    """An output key the person may fetch, and how long its playlist's URLs must last."""

    key: str
    # The source's length for an in-progress playlist, which is shorter than
    # the video it will become; 0 when the object's own length is the measure.
    min_media_seconds: float = 0.0


def output_key_servable(*, owner: AbstractBaseUser, key: str) -> ServableOutput | None:
    """`key` (outputs/<job_id>/<attempt>/...) if the owner may fetch it now, else None.

    Only one attempt of a job is ever served: the ready result's, or, while
    the job runs, the attempt whose preview the collector stored. Another
    attempt's objects (a dead delivery's leftovers, a losing or stale one)
    and the job's own bookkeeping (manifest, attempt markers) are not, so a
    page never mixes two attempts' segments. A v1 result, with no attempt
    folders, serves exactly the keys it names.
    """
    parts = key.split("/")
    try:
        job_id = str(uuid.UUID(parts[1])) if len(parts) > 2 else ""
    except ValueError:
        return None
    if parts[1] != job_id:  # only the canonical spelling, the one the keys use
        return None
    job = (
        TranscodeJob.objects.filter(pk=job_id, video__owner_id=owner.pk)
        .only("id", "status", "result", "preview_master_key", "preview_duration")
        .first()
    )
    if job is None:
        return None
    attempt = contract.output_key_attempt(key=key, job_id=job_id)
    if job.status == JobStatus.READY and isinstance(job.result, dict):
        if key in contract.result_keys(result=job.result):
            return ServableOutput(key=key)
        if attempt and attempt in contract.result_attempts(result=job.result, job_id=job_id):
            return ServableOutput(key=key)
    elif job.status == JobStatus.PROCESSING and attempt and attempt == job.preview_attempt:
        return ServableOutput(key=key, min_media_seconds=job.preview_duration or 0.0)
    return None


def _outputs_bytes(result: object) -> int:
    """The MP4s, and the HLS ladder and storyboard as their totals (docs/messages.md)."""
    if not isinstance(result, dict):
        return 0
    parts = [o for o in result.get("outputs") or [] if isinstance(o, dict)]
    parts += [result[k] for k in ("hls", "storyboard") if isinstance(result.get(k), dict)]
    sizes = (part.get("size_bytes") for part in parts)
    return sum(size for size in sizes if isinstance(size, int) and size > 0)


def user_storage_used(*, owner: AbstractBaseUser) -> int:
    """Bytes the owner keeps in the store: sources, and the outputs each job reported."""
    sources = Video.objects.filter(owner_id=owner.pk).aggregate(total=Sum("size_bytes"))["total"]
    results = TranscodeJob.objects.filter(
        video__owner_id=owner.pk, result__isnull=False
    ).values_list("result", flat=True)
    return (sources or 0) + sum(_outputs_bytes(result) for result in results.iterator())


def site_storage_used() -> int:
    """Bytes everyone keeps in the store: every source and every output a job reported.

    One pass over every job's result, as user_storage_used does for one
    person: about 0.4 s for 10,000 jobs with an HLS ladder (2 cores). A
    per-job total stored with the result would make it one SUM.
    """
    sources = Video.objects.aggregate(total=Sum("size_bytes"))["total"]
    results = TranscodeJob.objects.filter(result__isnull=False).values_list("result", flat=True)
    return (sources or 0) + sum(_outputs_bytes(result) for result in results.iterator())


def job_queue_position(*, job: TranscodeJob) -> int | None:
    """1-based place among the same person's jobs still waiting, or None if not waiting.

    Only the owner's own jobs count: a place among everyone's would tell each
    person how busy the site is.
    """
    if job.status != JobStatus.QUEUED:
        return None
    owner = Video.objects.filter(pk=job.video_id).values("owner_id")[:1]
    ahead = TranscodeJob.objects.filter(
        status=JobStatus.QUEUED, created_at__lt=job.created_at, video__owner_id=Subquery(owner)
    )
    return ahead.count() + 1
