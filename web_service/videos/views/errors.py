"""Django's 400 handler: a body it refused to parse gets a sentence, not a bare 400.

DRF views answer these themselves (videos/views/rest.py); this covers the
page's form, whose body CsrfViewMiddleware parses before any view runs.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from videos.middleware import upload_refusal
from videos.views.rest import bad_body_message


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    message = bad_body_message(exception)
    if message is None:
        return defaults.bad_request(request, exception)
    return upload_refusal(request=request, message=message, status=400)
