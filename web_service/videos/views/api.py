"""The JSON API. Outside tools and the page's JavaScript both use it.

POST requests need Django's CSRF token (header X-CSRFToken), like every form:
GET any API URL first to receive the `csrftoken` cookie.
"""

from __future__ import annotations

import uuid

from django.core.paginator import Paginator
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from videos.presenters import video_to_dict
from videos.selectors import video_get, video_list
from videos.services.jobs import JobActionError, job_cancel, job_retry
from videos.views.uploading import upload_receive

PAGE_SIZE = 20


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@ensure_csrf_cookie
@require_http_methods(["GET", "POST"])
def video_collection(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        outcome = upload_receive(request)
        if outcome.video is None:
            return _error(outcome.error or "The upload failed.", outcome.status)
        video = outcome.video
        return JsonResponse(
            {"id": str(video.id), "status": "queued", "url": f"/api/videos/{video.id}/"},
            status=201,
        )
    page = Paginator(video_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return JsonResponse(
        {
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "results": [video_to_dict(video=video) for video in page],
        }
    )


@ensure_csrf_cookie
@require_GET
def video_detail(request: HttpRequest, video_id: uuid.UUID) -> JsonResponse:
    video = video_get(video_id=video_id)
    if video is None:
        return _error("No video with this id.", 404)
    return JsonResponse(video_to_dict(video=video))


def _job_action(video_id: uuid.UUID, action) -> JsonResponse:
    video = video_get(video_id=video_id)
    if video is None:
        return _error("No video with this id.", 404)
    try:
        action(video=video)
    except JobActionError as exc:
        return _error(str(exc), 409)
    return JsonResponse(video_to_dict(video=video_get(video_id=video_id)))


@require_POST
def video_cancel(request: HttpRequest, video_id: uuid.UUID) -> JsonResponse:
    return _job_action(video_id, job_cancel)


@require_POST
def video_retry(request: HttpRequest, video_id: uuid.UUID) -> JsonResponse:
    return _job_action(video_id, job_retry)
