"""Request-wide safety nets: upload checks and cleanup, and a 503 while the database is away."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse

from videos.services.videos import upload_quota_refusal
from videos.upload_handlers import (
    upload_declared_file_bytes,
    upload_declared_length,
    upload_declared_too_large,
    upload_too_large_message,
    uploads_discard,
)

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Please try again in a moment."


class UploadCleanupMiddleware:
    """After every request, abort or delete what its upload stored and did not keep.

    Outermost, because the body is parsed (and the file streamed into the
    store) wherever request.POST is first read: often in CsrfViewMiddleware,
    whose 403 never reaches a view. Exceptions below are turned into
    responses before they get here, so this runs however the request ended.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            uploads_discard(request=request)


LENGTH_REQUIRED_MESSAGE = (
    "Send the upload with a Content-Length header; uploads of unknown length are not accepted."
)


def _is_upload(request: HttpRequest) -> bool:
    return request.method == "POST" and request.path_info in (
        reverse("videos:home"),
        reverse("videos:api-list"),
    )


def upload_refusal(*, request: HttpRequest, message: str, status: int) -> HttpResponse:
    """The API's `{"error"}`, or a small page for the form's own POST."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"error": message}, status=status)
    body = render_to_string("videos/refused.html", {"message": message})
    return HttpResponse(body, status=status)


class UploadPrecheckMiddleware:
    """Refuses an upload on its headers alone, before any byte of its body is read.

    Early in MIDDLEWARE: CsrfViewMiddleware and DRF's session check read the
    body (request.POST), so a check in a view would come after the transfer.
    Without Content-Length (a chunked body) the size is unknown until the
    end, so such an upload is refused outright: 411.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_upload(request):
            if upload_declared_length(request) is None:
                return upload_refusal(request=request, message=LENGTH_REQUIRED_MESSAGE, status=411)
            if upload_declared_too_large(request):
                return upload_refusal(
                    request=request, message=upload_too_large_message(), status=413
                )
        return self.get_response(request)


class UploadQuotaMiddleware:
    """Refuses, from Content-Length, an upload that cannot fit the logged-in person's quota.

    After AuthenticationMiddleware, for the session's user, and still before
    any body is read. An API call with a token is checked in the view, which
    it reaches before its body is read. The real size is checked again when
    the upload is recorded (videos/services/videos.py).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_upload(request) and "HTTP_AUTHORIZATION" not in request.META:
            try:
                user = request.user
                refusal = user.is_authenticated and upload_quota_refusal(
                    owner=user, size_bytes=upload_declared_file_bytes(request)
                )
            except (OperationalError, InterfaceError):
                refusal = None  # the view answers 503 for the database
            if refusal:
                return upload_refusal(request=request, message=refusal, status=413)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "database unavailable for %s %s: %s", request.method, request.path, exception
        )
        if request.path.startswith("/api/") or request.path == "/healthz":
            response: HttpResponse = JsonResponse({"error": UNAVAILABLE_MESSAGE}, status=503)
        else:
            body = render_to_string("videos/unavailable.html", {"message": UNAVAILABLE_MESSAGE})
            response = HttpResponse(body, status=503)
        response["Retry-After"] = "5"
        return response
