"""Reads (HackSoft styleguide: selectors read, services write)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from videos.models import JobStatus, TranscodeJob, Video


def video_list() -> QuerySet[Video]:
    """All videos with their current job, newest first."""
    return Video.objects.select_related("current_job").order_by("-created_at")


def video_get(*, video_id: uuid.UUID) -> Video | None:
    return video_list().filter(pk=video_id).first()


def job_queue_position(*, job: TranscodeJob) -> int | None:
    """1-based place among jobs still waiting for a worker, or None if not waiting."""
    if job.status != JobStatus.QUEUED:
        return None
    ahead = TranscodeJob.objects.filter(status=JobStatus.QUEUED, created_at__lt=job.created_at)
    return ahead.count() + 1
