"""The upload request flow shared by the page's form and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from videos.forms import VideoUploadForm
from videos.models import Video
from videos.services.uploads import video_create
from videos.uploads import upload_declared_too_large, upload_too_large_message, upload_was_cut


@dataclass(frozen=True)
class UploadOutcome:
    video: Video | None = None
    error: str | None = None
    status: int = 201


def upload_receive(request: HttpRequest) -> UploadOutcome:
    # Refuse on the declared size before reading a byte of the body.
    if upload_declared_too_large(request):
        return UploadOutcome(error=upload_too_large_message(), status=413)
    form = VideoUploadForm(request.POST, request.FILES)  # streams the body to disk
    if upload_was_cut(request):
        return UploadOutcome(error=upload_too_large_message(), status=413)
    if not form.is_valid():
        return UploadOutcome(error=form.first_error(), status=400)
    video = video_create(upload=form.cleaned_data["file"], title=form.cleaned_data["title"])
    return UploadOutcome(video=video)
