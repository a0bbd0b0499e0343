"""Django REST framework plumbing for the API: errors, pages and throttles.

The API's shapes predate DRF and outside tools rely on them (docs/api.md):
every error is `{"error": "<sentence>"}`, and a list is
`{"count", "page", "pages", "results"}`. These classes keep them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.paginator import Paginator
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from ingest.limits import upload_rate_message
from ingest.streamed_upload import streamed_upload
from ratelimits.clients import client_address
from ratelimits.services import rate_hit, rate_parse, wait_sentence

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
        message = f"Too many requests. {wait_sentence(exc.wait)}"
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


class _AtomicRateThrottle(BaseThrottle):
    """Per user (per address when anonymous), counted atomically in the database.

    DRF's SimpleRateThrottle reads its history from the cache, appends and
    writes it back: parallel requests overshot the rate (issue 23). This
    counts with ratelimits.services.rate_hit instead, one statement a hit,
    shared by every worker. The rate is read from the settings at each
    request (DRF's class attribute keeps the rates of import time), and the
    address is the one behind exactly the proxies we run (ratelimits/clients.py).
    """

    scope = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def get_ident(self, request) -> str:
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        return self.hit(request=request, user=getattr(request, "user", None))

    def hit(self, *, request: HttpRequest, user: AbstractBaseUser | None) -> bool:
        """Count one request by `user` (by its address when anonymous); False over the rate."""
        text = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if not text:
            return True
        if user is not None and user.is_authenticated:
            key = f"{self.scope}:user:{user.pk}"
        else:
            key = f"{self.scope}:address:{self.get_ident(request)}"
        verdict = rate_hit(key=key, rate=rate_parse(text))
        self._wait = verdict.wait_seconds
        return verdict.allowed

    def wait(self) -> float | None:
        return self._wait


class RequestRateThrottle(_AtomicRateThrottle):
    """Every API call (API_THROTTLE_REQUESTS)."""

    scope = "requests"


class UploadRateThrottle(_AtomicRateThrottle):
    """Uploads (API_THROTTLE_UPLOADS), on top of the general rate.

    One count per person for the API's uploads, its upload starts and the
    page's form: a streamed upload (the form's POST / and the API's) is
    counted by upload_rate_refusal before its body is read, which marks its
    StreamedUpload so that it is not counted twice.
    """

    scope = "uploads"

    def allow_request(self, request, view) -> bool:
        # DRF's Request wraps Django's, which carries the upload's state.
        if request.method != "POST" or streamed_upload(request._request).rate_counted:
            return True
        return super().allow_request(request, view)


@dataclass(frozen=True)
class UploadRateRefusal:
    message: str
    retry_after: int  # seconds, for the Retry-After header


def upload_rate_refusal(
    *, request: HttpRequest, uploader: AbstractBaseUser
) -> UploadRateRefusal | None:
    """Count one upload by `uploader`: None, or why it is one too many (a 429).

    For the upload gate (videos/middleware.py), before anything reads the body.
    """
    throttle = UploadRateThrottle()
    allowed = throttle.hit(request=request, user=uploader)
    streamed_upload(request).rate_counted = True
    if allowed:
        return None
    wait = math.ceil(throttle.wait() or 0)
    return UploadRateRefusal(message=upload_rate_message(wait_seconds=wait), retry_after=wait)
