"""The upload request flow shared by the page's form and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from videos import objectstore
from videos.forms import VideoUploadForm
from videos.models import Video
from videos.services.videos import UploadQuotaExceeded, video_create
from videos.upload_handlers import (
    upload_cleared,
    upload_keep,
    upload_store_failed,
    upload_too_large_message,
    upload_was_cut,
)


@dataclass(frozen=True)
class UploadOutcome:
    video: Video | None = None
    error: str | None = None
    status: int = 201


def upload_receive(*, request: HttpRequest, owner: AbstractBaseUser) -> UploadOutcome:
    """Validate and store one upload. Anything refused is removed by UploadCleanupMiddleware.

    `request` is Django's own request (a DRF view passes `request._request`),
    because the upload handlers and the cleanup mark that object.
    """
    # Who uploads, and whether the declared size fits their quota, was decided
    # before the body by UploadGateMiddleware (and the size limit by
    # UploadPrecheckMiddleware). Without that decision no body is read: an
    # upload path the gate does not see is a configuration error, not an
    # anonymous upload to stream.
    if not upload_cleared(request=request, owner=owner):
        raise ImproperlyConfigured(
            "Uploads must pass videos.middleware.UploadGateMiddleware (settings.MIDDLEWARE)."
        )
    form = VideoUploadForm(request.POST, request.FILES)  # streams the body into the store
    if upload_was_cut(request):
        return UploadOutcome(error=upload_too_large_message(), status=413)
    if upload_store_failed(request):
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
    upload_keep(request=request, key=video.source_key)
    return UploadOutcome(video=video)
