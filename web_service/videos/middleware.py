"""Site-wide safety nets: every request timed (and uploads counted), and a 503
while the database is away. An upload's own are ingest/middleware.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

from core import metrics

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Please try again in a moment."


def database_unavailable(*, request: HttpRequest, exception: Exception) -> HttpResponse:
    """503 with a sentence and Retry-After: JSON for the API and /healthz, a page otherwise."""
    logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
    if request.path.startswith("/api/") or request.path == "/healthz":
        response: HttpResponse = JsonResponse({"error": UNAVAILABLE_MESSAGE}, status=503)
    else:
        body = render_to_string("videos/unavailable.html", {"message": UNAVAILABLE_MESSAGE})
        response = HttpResponse(body, status=503)
    response["Retry-After"] = "5"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        return database_unavailable(request=request, exception=exception)


# Upload requests, by URL name (videos/urls.py; the home page takes the form):
# a POST to one of these starts an upload.
_UPLOAD_STARTS = frozenset({"videos:api-list", "videos:home", "videos:api-uploads"})
# ... and a success answer to one of these means an upload made a video.
_UPLOAD_COMPLETES = {"videos:api-list": 201, "videos:home": 302, "videos:api-upload-complete": 201}
_REFUSAL_REASONS = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    411: "no_length",
    413: "too_large",
    415: "unsupported_type",
    429: "throttled",
    503: "unavailable",
}


class RequestMetricsMiddleware:
    """Times every request by view and status, and counts uploads (core/metrics.py).

    Outermost, so the answers of the other middlewares (a 413 or 429 from the
    upload gate before any view runs) are counted too. The view is the URL's
    name, resolved here because a request refused early never reaches the
    resolver; an unknown path is "unmatched", so a scan cannot mint series.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        view = _view_name(request.path_info)
        upload = request.method == "POST" and view in _UPLOAD_STARTS
        if upload:
            metrics.uploads_started.inc()
        response = self.get_response(request)
        status = response.status_code
        metrics.request_duration.labels(
            view=view, method=request.method or "", status=str(status)
        ).observe(time.monotonic() - started)
        if request.method == "POST" and _UPLOAD_COMPLETES.get(view) == status:
            metrics.uploads_completed.inc()
        elif (upload or view == "videos:api-upload-complete") and status >= 400:
            reason = _REFUSAL_REASONS.get(status, f"status_{status}")
            metrics.uploads_refused.labels(reason=reason).inc()
        return response


def _view_name(path: str) -> str:
    try:
        return resolve(path).view_name
    except Resolver404:
        return "unmatched"
