"""Sign-up; login and logout are Django's own views (accounts/urls.py)."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import SignupForm
from accounts.services import user_create
from ratelimits.clients import client_address
from ratelimits.services import rate_hit, rate_parse, wait_sentence


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Fields username, password1, password2; on success, logged in and sent home.

    Every POST counts against SIGNUP_RATE for its address, a refused one
    too: that bounds both mass sign-ups and the probing of usernames.
    """
    if request.method == "POST":
        verdict = rate_hit(
            key=f"signup:address:{client_address(request)}", rate=rate_parse(settings.SIGNUP_RATE)
        )
        if not verdict.allowed:
            seconds = math.ceil(verdict.wait_seconds)
            context = {
                "form": SignupForm(),
                "refusal": f"Too many sign-ups from your address. {wait_sentence(seconds)}",
            }
            response = render(request, "accounts/signup.html", context, status=429)
            response["Retry-After"] = str(seconds)
            return response
    form = SignupForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        user = user_create(
            username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
        )
        # Named: more than one backend is configured (django-axes' comes first).
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/signup.html", {"form": form})
