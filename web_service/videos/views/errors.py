"""Django's 400 and 404 handlers: a sentence, not a bare page, where a client reads JSON.

DRF views answer these themselves (videos/views/rest.py); this covers the
page's form, whose body CsrfViewMiddleware parses before any view runs.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from ingest.middleware import upload_refusal
from videos.views.rest import bad_body_message


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    message = bad_body_message(exception)
    if message is None:
        return defaults.bad_request(request, exception)
    return upload_refusal(request=request, message=message, status=400)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404, except under /api/: JSON there, for any path, as every API answer is."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"error": "No such API path or resource."}, status=404)
    return defaults.page_not_found(request, exception)
