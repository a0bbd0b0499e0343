"""The retention sweep: remove what nobody will ever look at again.

Run by `manage.py retention_sweep` on a schedule (docs/operating.md, "Retention"). Each
part is idempotent, so a sweep that dies halfway is simply run again.

- Outputs of jobs that ended failed or cancelled (a cancelled run may leave
  an attempt behind). The web's key may read outputs but not delete them, so
  it sends `transcode.delete_outputs`. The candidates come from one listing
  of `outputs/`, so a job whose outputs are gone is not sent
  again on the next run, without a field to remember it.
- django-celery-results' TaskResult rows of finished tasks.
- Multipart uploads that web processes started and never finished.
- Orphan sources: objects under `sources/` with no video, left by a request
  that died between the upload and the commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django_celery_results.models import TaskResult

from core import objectstore
from jobs.messaging.publisher import outputs_delete_publish
from jobs.models import JobStatus, TranscodeJob
from jobs.services.dispatch import PUBLISH_ERRORS
from videos.models import Video

logger = logging.getLogger(__name__)

# Keys per database query when matching sources to videos.
BATCH = 500


@dataclass(frozen=True)
class RetentionReport:
    outputs_deletes_sent: int
    task_results_deleted: int
    uploads_aborted: int
    sources_deleted: int

    def __str__(self) -> str:
        return (
            f"sent {self.outputs_deletes_sent} output deletion(s) for failed or cancelled jobs,"
            f" deleted {self.task_results_deleted} task result(s),"
            f" aborted {self.uploads_aborted} abandoned upload(s),"
            f" deleted {self.sources_deleted} orphan source(s)"
        )


def _failed_outputs_delete(*, older_than: timedelta) -> int:
    with_outputs = objectstore.outputs_job_ids()
    if not with_outputs:
        return 0
    job_ids = TranscodeJob.objects.filter(
        status__in=[JobStatus.FAILED, JobStatus.CANCELLED],
        finished_at__lte=timezone.now() - older_than,
    ).values_list("id", flat=True)
    sent = 0
    for job_id in (str(job_id) for job_id in job_ids.iterator()):
        if job_id not in with_outputs:
            continue
        try:
            outputs_delete_publish(job_id=job_id)
        except PUBLISH_ERRORS as exc:
            # The next sweep lists them again.
            logger.warning("outputs of job %s not deleted, broker unavailable: %s", job_id, exc)
            break
        sent += 1
    return sent


def _orphan_sources_delete(*, older_than: timedelta) -> int:
    keys = objectstore.sources_list(older_than=older_than)
    deleted = 0
    for start in range(0, len(keys), BATCH):
        batch = keys[start : start + BATCH]
        known = set(Video.objects.filter(source_key__in=batch).values_list("source_key", flat=True))
        for key in batch:
            if key not in known:
                objectstore.source_delete(key=key)
                logger.info("deleted orphan source %s", key)
                deleted += 1
    return deleted


def retention_sweep(
    *,
    failed_outputs_after: timedelta,
    task_results_after: timedelta,
    uploads_abandoned_after: timedelta,
    orphan_sources_after: timedelta,
) -> RetentionReport:
    """Remove what is older than each limit. Raises ObjectStoreError if the store refuses."""
    expired = TaskResult.objects.get_all_expired(task_results_after)
    task_results_deleted, _ = expired.delete()
    return RetentionReport(
        outputs_deletes_sent=_failed_outputs_delete(older_than=failed_outputs_after),
        task_results_deleted=task_results_deleted,
        uploads_aborted=len(
            objectstore.multipart_uploads_abort_abandoned(older_than=uploads_abandoned_after)
        ),
        sources_deleted=_orphan_sources_delete(older_than=orphan_sources_after),
    )
