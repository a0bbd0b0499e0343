"""Answer 503, not a traceback, while the database is unreachable."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Please try again in a moment."


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
