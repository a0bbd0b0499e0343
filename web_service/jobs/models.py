"""Transcode jobs.

A TranscodeJob is one attempt to turn a video (videos.models.Video) into a
playable MP4; a retry is a new job, so every attempt keeps its own history and
its own `job_id` on the wire. The job row is also the outbox: a job is created
`pending` in the same transaction as the video, and only marked `sent` once the
broker has accepted the message. The video is named by string ("videos.Video"):
this app imports nothing from videos (pyproject.toml, import-linter).
"""

from __future__ import annotations

import uuid

from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STATUSES = frozenset({JobStatus.READY, JobStatus.FAILED, JobStatus.CANCELLED})
# The stage_events entry a worker's STARTED makes: each one begins an attempt.
TIMELINE_STARTED = "started"


class DispatchState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent to the broker"


class TranscodeJob(models.Model):
    # Doubles as the Celery task id and the contract's `job_id`.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="jobs")
    profiles = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    dispatch_state = models.CharField(
        max_length=16, choices=DispatchState.choices, default=DispatchState.PENDING
    )
    # The W3C trace context (traceparent, tracestate) of the upload that made
    # the job, when tracing is on: its dispatch, re-sends and stored replies
    # join that one trace, from any process (core/telemetry.py).
    trace_context = models.JSONField(null=True, blank=True, editable=False)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    source_metadata = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The first send; the timeline starts the worker's part there.
    sent_at = models.DateTimeField(null=True, blank=True)
    # The latest send (first or re-send) and how many re-sends the reaper
    # made (services/reaper.py). Their own fields, not inferred from
    # updated_at: any save (the admin, a preview) bumps that one.
    last_sent_at = models.DateTimeField(null=True, blank=True)
    resend_count = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Each stage transition the collector stored, oldest first, for the job's
    # timeline (services/replies.py writes it, the videos/timelines.py selector reads it).
    # A list on the row rather than an event table: the collector holds this
    # row's lock for every state anyway, so appending costs no extra write,
    # and the page and the API read it with the job, with no extra query. A
    # job has a handful of transitions (about 7 per attempt), never thousands.
    stage_events = models.JSONField(default=list, blank=True)
    # The newest attempt's playable ladder while the job runs (the `preview`
    # of its PROGRESS, docs/messages.md): the web serves that attempt's
    # in-progress objects, and no other's, until the job is final. Cleared
    # when the attempt ends (a redelivery's STARTED, a RETRY, a final state).
    preview_master_key = models.CharField(max_length=255, blank=True)
    preview_encoded_seconds = models.FloatField(null=True, blank=True)
    preview_duration = models.FloatField(null=True, blank=True)
    # Attempts whose preview was replaced or ended: a late PROGRESS of one of
    # them must not bring it back (the collector tells attempts apart only by
    # their keys). A few per job: a delivery that dies is retried 3 times at most.
    preview_retired = models.JSONField(default=list, blank=True)

    class Meta:
        # The table it had when it lived in the videos app: moving the model
        # moved no data (migrations/0001_initial.py, state only).
        db_table = "videos_transcodejob"
        ordering = ["-created_at"]
        indexes = [
            # The outbox relay scans for unsent jobs; keep that scan cheap.
            models.Index(
                fields=["created_at"],
                name="job_outbox_pending_idx",
                condition=models.Q(dispatch_state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def job_id(self) -> str:
        return str(self.id)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def preview_attempt(self) -> str | None:
        """The <attempt> of outputs/<job_id>/<attempt>/hls/master.m3u8, when there is a preview."""
        parts = self.preview_master_key.split("/")
        return parts[2] if len(parts) > 2 else None
