"""Direct uploads in progress (a Video, videos.models, takes over when one completes)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class UploadState(models.TextChoices):
    OPEN = "open", "Receiving parts"
    # Claimed by one `complete` call (a conditional UPDATE), so a second call
    # at the same moment cannot make a second video of the same source.
    COMPLETING = "completing", "Being completed"


class Upload(models.Model):
    """A direct upload in progress: the browser sends its parts to the store itself.

    `id` is what the client names it by; `upload_id` is the store's own id of
    the multipart upload, which never leaves the server. The row goes when
    the upload completes (a Video takes over) or is aborted; an abandoned one
    goes with its multipart upload (ingest/services/direct_uploads.py).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    key = models.CharField(max_length=1024, help_text="Key of the source in S3_BUCKET.")
    upload_id = models.CharField(max_length=1024)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, blank=True)
    # Declared by the client; the completed object must have exactly this size.
    size_bytes = models.BigIntegerField()
    title = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=16, choices=UploadState.choices, default=UploadState.OPEN)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        # The table it had when it lived in the videos app: moving the model
        # moved no data (migrations/0001_initial.py, state only).
        db_table = "videos_upload"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename
