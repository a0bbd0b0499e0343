"""The upload request flow shared by the page's form and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from core import objectstore
from ingest.forms import VideoUploadForm
from ingest.limits import upload_too_large_message
from ingest.services.uploads import UploadQuotaExceeded, video_create
from ingest.streamed_upload import streamed_upload
from videos.models import Video


@dataclass(frozen=True)
class UploadOutcome:
    video: Video | None = None
    error: str | None = None
    status: int = 201


def upload_receive(*, request: HttpRequest, owner: AbstractBaseUser) -> UploadOutcome:
    """Validate and store one upload. Anything refused is removed by UploadCleanupMiddleware.

    `request` is Django's own request (a DRF view passes `request._request`),
    because its StreamedUpload is what the middleware, the upload handlers
    and the cleanup share.
    """
    streamed = streamed_upload(request)
    # Who uploads, and whether the declared size fits their quota, was decided
    # before the body by UploadGateMiddleware (and the size limit by
    # UploadPrecheckMiddleware). Without that decision no body is read: an
    # upload path the gate does not see is a configuration error, not an
    # anonymous upload to stream.
    if not streamed.is_cleared_for(owner=owner):
        raise ImproperlyConfigured(
            "Uploads must pass ingest.middleware.UploadGateMiddleware (settings.MIDDLEWARE)."
        )
    form = VideoUploadForm(request.POST, request.FILES)  # streams the body into the store
    if streamed.over_limit:
        return UploadOutcome(error=upload_too_large_message(), status=413)
    if streamed.store_unavailable:
        return UploadOutcome(error=objectstore.STORE_UNAVAILABLE_MESSAGE, status=503)
    if not form.is_valid():
        return UploadOutcome(error=form.first_error(), status=400)
    upload = form.cleaned_data["file"]
    try:
        video = video_create(
            owner=owner,
            source_key=upload.key,
            original_filename=upload.name or "",
            size_bytes=upload.size,
            title=form.cleaned_data["title"],
        )
    except UploadQuotaExceeded as exc:  # the real size, now known, does not fit
        return UploadOutcome(error=str(exc), status=413)
    streamed.kept_key = video.source_key  # the cleanup keeps what a video records
    return UploadOutcome(video=video)
