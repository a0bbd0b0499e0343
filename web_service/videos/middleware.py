"""Request-wide safety nets: upload cleanup, and a 503 while the database is away."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from videos.uploads import uploads_discard

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
