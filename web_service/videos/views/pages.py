"""Server-rendered pages. They read through selectors and write through services.

Each shows only the logged-in person's videos; an anonymous visitor is sent
to the login page, and another person's video is a 404.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ingest.forms import VideoUploadForm
from ingest.limits import human_size, upload_limits_for_page
from ingest.views.uploading import upload_receive
from jobs.models import FINAL_STATUSES
from videos.selectors import user_storage_used, video_get, video_list
from videos.services.videos import video_delete
from videos.timelines import job_timeline
from videos.views.api import IDS_MAX
from videos.views.presenters import video_to_dict
from videos.views.timeline import timeline_to_dict

PAGE_SIZE = 12
# The templates draw a finished job without a progress bar.
FINAL = sorted(FINAL_STATUSES)


@login_required
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    error = None
    status = 200
    if request.method == "POST":
        outcome = upload_receive(request=request, owner=request.user)
        if outcome.video is not None:
            return redirect("videos:detail", video_id=outcome.video.id)
        error, status = outcome.error, outcome.status
    page = Paginator(video_list(owner=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    quota_left = max(0, settings.USER_QUOTA_BYTES - user_storage_used(owner=request.user))
    context = {
        "form": VideoUploadForm(),
        "error": error,
        "page": page,
        "videos": [video_to_dict(video=video) for video in page],
        # app.js asks for the rows still moving in requests of this many ids.
        "live_batch": IDS_MAX,
        "final_statuses": FINAL,
        "max_upload_human": human_size(settings.UPLOAD_MAX_BYTES),
        "quota_human": human_size(settings.USER_QUOTA_BYTES),
        "quota_left_human": human_size(quota_left),
        # uploader.js's checks and sentences, as data (json_script): the server's own.
        "upload_limits": upload_limits_for_page(quota_left_bytes=quota_left),
    }
    return render(request, "videos/home.html", context, status=status)


def _video_owned(request: HttpRequest, video_id: uuid.UUID):
    video = video_get(owner=request.user, video_id=video_id)
    if video is None:
        raise Http404("No video with this id.")
    return video


@login_required
@require_GET
def detail(request: HttpRequest, video_id: uuid.UUID) -> HttpResponse:
    video = _video_owned(request, video_id)
    shown = video_to_dict(video=video)
    # "How the job went" is drawn once it went: while it runs, the page is
    # not redrawn, and bars cut at the moment of loading (a queue wait, no
    # host yet) would read as the job's whole story. The API has them live.
    job = video.current_job if shown["status"] in FINAL_STATUSES else None
    context = {
        "video": shown,
        "final_statuses": FINAL,
        "timeline": timeline_to_dict(bars=job_timeline(job=job)),
    }
    return render(request, "videos/detail.html", context)


@login_required
@require_POST
def delete(request: HttpRequest, video_id: uuid.UUID) -> HttpResponse:
    video_delete(video=_video_owned(request, video_id))
    return redirect("videos:home")
