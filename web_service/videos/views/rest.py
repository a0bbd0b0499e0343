"""Django REST framework plumbing for the API: errors, pages and throttles.

The API's shapes predate DRF and outside tools rely on them (README, "API"):
every error is `{"error": "<sentence>"}`, and a list is
`{"count", "page", "pages", "results"}`. These classes keep them.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.paginator import Paginator
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

ONE_FILE_MESSAGE = "Send one file per upload."
FIELDS_TOO_LARGE_MESSAGE = "The form fields sent with the file are too large."
NOT_AUTHENTICATED_MESSAGE = (
    "Log in first, or send an API token in the header Authorization: Token <key>."
)

# Django refuses these while it parses a body; they are the client's fault: 400.
_BAD_BODY = {
    TooManyFilesSent: ONE_FILE_MESSAGE,
    TooManyFieldsSent: FIELDS_TOO_LARGE_MESSAGE,
    RequestDataTooBig: FIELDS_TOO_LARGE_MESSAGE,
}


def bad_body_message(exc: Exception) -> str | None:
    """The sentence for a body Django refused to parse, or None for other errors."""
    for kind, message in _BAD_BODY.items():
        if isinstance(exc, kind):
            return message
    return None


def _first_message(data: Any) -> str:
    """One sentence out of DRF's error data (a detail, a list, or fields to lists)."""
    if isinstance(data, dict):
        if "detail" in data:
            return str(data["detail"])
        for field, errors in data.items():
            message = _first_message(errors)
            return message if field == "non_field_errors" else f"{field}: {message}"
        return "The request is not valid."
    if isinstance(data, list):
        return _first_message(data[0]) if data else "The request is not valid."
    return str(data)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every error body turned into `{"error": "<sentence>"}`."""
    # Imported here, not at the top: rest_framework.views reads the
    # DEFAULT_THROTTLE_CLASSES setting, which names this module, when it is
    # first imported; a top-level import would be circular whenever this
    # module is the first to load (e.g. DRF's pagination system check).
    from rest_framework.views import exception_handler

    message = bad_body_message(exc)
    if message:
        exc = exceptions.ParseError(message)
    response = exception_handler(exc, context)
    if response is None:
        return None  # a server error: Django's 500 (or the 503 of the database middleware)
    if isinstance(exc, exceptions.NotAuthenticated):
        message = NOT_AUTHENTICATED_MESSAGE
    elif isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        message = f"Too many requests. Try again in {math.ceil(exc.wait)} seconds."
    else:
        message = _first_message(response.data)
    response.data = {"error": message}
    return response


class PagePagination(BasePagination):
    """Pages of API_PAGE_SIZE as `{"count", "page", "pages", "results"}`.

    Like Django's Paginator.get_page, a page number out of range or not a
    number gives the nearest page instead of an error, as the API always has.
    """

    page_size = 20

    def paginate_queryset(self, queryset, request, view=None) -> list:
        self.page = Paginator(queryset, api_settings.PAGE_SIZE or self.page_size).get_page(
            request.query_params.get("page")
        )
        return list(self.page)

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "count": self.page.paginator.count,
                "page": self.page.number,
                "pages": self.page.paginator.num_pages,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "page", "pages", "results"],
            "properties": {
                "count": {"type": "integer"},
                "page": {"type": "integer"},
                "pages": {"type": "integer"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "page",
                "required": False,
                "in": "query",
                "description": "Page number, from 1.",
                "schema": {"type": "integer"},
            }
        ]


class _LiveRateThrottle(UserRateThrottle):
    """Per user (per address when anonymous). Reads its rate from the settings at
    each request: DRF's class attribute keeps the rates of import time."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class RequestRateThrottle(_LiveRateThrottle):
    """Every API call (API_THROTTLE_REQUESTS)."""

    scope = "requests"


class UploadRateThrottle(_LiveRateThrottle):
    """Uploads only (API_THROTTLE_UPLOADS), on top of the general rate."""

    scope = "uploads"

    def allow_request(self, request, view) -> bool:
        return request.method != "POST" or super().allow_request(request, view)
