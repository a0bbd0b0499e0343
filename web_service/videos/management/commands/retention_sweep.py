"""`manage.py retention_sweep`: remove old leftovers, then print one line saying what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core import objectstore
from videos.services.retention import retention_sweep


class Command(BaseCommand):
    help = (
        "Delete outputs of old failed or cancelled jobs, old task results, abandoned"
        " multipart uploads and orphan sources. Safe to run again at any time."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = retention_sweep(
                failed_outputs_after=timedelta(days=settings.FAILED_OUTPUTS_RETENTION_DAYS),
                task_results_after=timedelta(days=settings.RESULTS_RETENTION_DAYS),
                uploads_abandoned_after=timedelta(seconds=settings.UPLOAD_ABANDONED_AFTER),
                orphan_sources_after=timedelta(seconds=settings.ORPHAN_SOURCE_GRACE),
            )
        except objectstore.ObjectStoreError as exc:
            # A non-zero exit, so cron or the systemd timer reports the failure.
            raise CommandError(f"retention sweep stopped, the object store refused: {exc}") from exc
        self.stdout.write(f"retention sweep: {report}")
