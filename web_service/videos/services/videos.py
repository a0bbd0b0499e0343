"""Deleting a video with the objects it owns in the store.

Creating one is the end of an upload: ingest/services/uploads.py."""

from __future__ import annotations

import logging

from django.db import transaction

from core import objectstore
from jobs.messaging.control import transcode_cancel_publish
from jobs.messaging.publisher import outputs_delete_publish
from jobs.models import FINAL_STATUSES
from jobs.services.dispatch import PUBLISH_ERRORS
from videos.models import Video

logger = logging.getLogger(__name__)


def _video_objects_delete(*, source_key: str, job_ids: list[str], running: list[str]) -> None:
    for job_id in running:
        try:
            # Otherwise a running transcode would write outputs after their deletion.
            transcode_cancel_publish(job_id=job_id)
        except PUBLISH_ERRORS as exc:
            logger.warning("could not cancel job %s of a deleted video: %s", job_id, exc)
    try:
        objectstore.source_delete(key=source_key)
    except objectstore.ObjectStoreError as exc:
        logger.error("source %s of a deleted video not deleted: %s", source_key, exc)
    for job_id in job_ids:
        # The web's key may read outputs but never delete them (docs/storage.md,
        # "Least privilege"): the transcoder, which owns outputs/, deletes them.
        try:
            outputs_delete_publish(job_id=job_id)
        except PUBLISH_ERRORS as exc:
            logger.error("outputs of job %s not deleted, broker unavailable: %s", job_id, exc)


def video_delete(*, video: Video) -> None:
    """Delete the video and its jobs; after the commit, its source and every job's outputs.

    Objects are deleted only once the rows are gone for good: a rolled-back
    delete must not leave a video whose files are missing.
    """
    with transaction.atomic():
        jobs = list(video.jobs.values_list("id", "status"))
        source_key = video.source_key
        video.delete()
        transaction.on_commit(
            lambda: _video_objects_delete(
                source_key=source_key,
                job_ids=[str(job_id) for job_id, _ in jobs],
                running=[str(job_id) for job_id, status in jobs if status not in FINAL_STATUSES],
            )
        )
