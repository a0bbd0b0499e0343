"""Server-rendered pages. They read through selectors and write through services."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from videos.forms import VideoUploadForm
from videos.presenters import video_to_dict
from videos.selectors import video_get, video_list
from videos.uploads import human_size
from videos.views.uploading import upload_receive

PAGE_SIZE = 12


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    error = None
    status = 200
    if request.method == "POST":
        outcome = upload_receive(request)
        if outcome.video is not None:
            return redirect("videos:detail", video_id=outcome.video.id)
        error, status = outcome.error, outcome.status
    page = Paginator(video_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": VideoUploadForm(),
        "error": error,
        "page": page,
        "videos": [video_to_dict(video=video) for video in page],
        "max_upload_bytes": settings.UPLOAD_MAX_BYTES,
        "max_upload_human": human_size(settings.UPLOAD_MAX_BYTES),
    }
    return render(request, "videos/home.html", context, status=status)


@require_GET
def detail(request: HttpRequest, video_id: uuid.UUID) -> HttpResponse:
    video = video_get(video_id=video_id)
    if video is None:
        raise Http404("No video with this id.")
    return render(request, "videos/detail.html", {"video": video_to_dict(video=video)})
