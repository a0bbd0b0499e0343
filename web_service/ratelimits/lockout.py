"""django-axes' lockout, answered as every other refusal here: a sentence, 429, Retry-After.

settings.AXES_LOCKOUT_CALLABLE names login_lockout: AxesMiddleware calls it
when a login was refused (the login page, the admin's, the API's token
endpoint). The API gets `{"error"}` JSON, a person a page.
"""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_client_username
from axes.signals import user_locked_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from ratelimits.clients import client_address
from ratelimits.selectors import login_lockout_end
from ratelimits.services import wait_sentence


def login_lockout(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The answer to a login refused for too many failures."""
    end = login_lockout_end(
        ip_address=client_address(request), username=get_client_username(request, credentials)
    )
    seconds = max(1, math.ceil((end - timezone.now()).total_seconds())) if end else 1
    message = f"Too many failed logins. {wait_sentence(seconds)}"
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"error": message}, status=429)
    else:
        context = {
            "heading": "Login refused",
            "message": message,
            "back_url": reverse("accounts:login"),
            "back_label": "Back to the login page",
        }
        response = render(request, "ratelimits/refused.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


@receiver(user_locked_out)
def login_lockout_reaches_the_middleware(sender: Any, request: Any, **kwargs: Any) -> None:
    """A DRF view (the token endpoint) hands authenticate() DRF's Request; axes
    marks that wrapper, which AxesMiddleware never sees. Mark Django's own."""
    django_request = getattr(request, "_request", None)
    if isinstance(django_request, HttpRequest):
        django_request.axes_locked_out = True
        django_request.axes_credentials = getattr(request, "axes_credentials", None)
