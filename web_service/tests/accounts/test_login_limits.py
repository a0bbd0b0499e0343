"""Password guessing and sign-up are limited, and sign-up does not say who has an account.

django-axes counts failed logins per address and per username on the
login page, the admin's and the API's token endpoint; at
LOGIN_FAILURE_LIMIT every login from that address or to that account is
refused, the right password too, with a sentence and Retry-After. Sign-ups
are counted per address (SIGNUP_RATE). Issue 23: 300 wrong passwords, then
the right one worked, everywhere; 20 sign-ups in 10 s.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.db.models import F
from django.test import Client

from ..factories import PASSWORD, user_make

pytestmark = pytest.mark.django_db

LIMIT = 3
LOCKED = "Too many failed logins. Try again in 15 minutes."


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def _token(client: Client, username: str, password: str, **extra):
    return client.post("/api/auth/token/", {"username": username, "password": password}, **extra)


def _form_login(path: str, username: str, password: str, **extra):
    client = Client(enforce_csrf_checks=True)
    csrf = client.get(path).cookies["csrftoken"].value
    fields = {"csrfmiddlewaretoken": csrf, "username": username, "password": password}
    return client, client.post(path, fields, **extra)


def _assert_locked_page(response) -> None:
    assert response.status_code == 429
    assert 890 <= int(response["Retry-After"]) <= 900
    assert LOCKED in response.content.decode()


def test_the_token_endpoint_refuses_the_right_password_after_the_limit(user):
    client = Client()
    for _ in range(LIMIT - 1):
        assert _token(client, "alice", "wrong").status_code == 400
    refused = _token(client, "alice", "wrong")  # the last failure allowed locks
    assert refused.status_code == 429
    refused = _token(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert 890 <= int(refused["Retry-After"]) <= 900
    assert refused.json() == {"error": LOCKED}


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_login_pages_refuse_the_right_password_after_the_limit(path):
    user_make(username="frank", is_staff=True)
    for _ in range(LIMIT):
        _form_login(path, "frank", "wrong")
    client, refused = _form_login(path, "frank", PASSWORD)
    _assert_locked_page(refused)
    assert "_auth_user_id" not in client.session


def test_one_username_is_locked_whatever_address_guesses_it(user):
    for n in range(LIMIT):
        _token(Client(), "alice", "wrong", REMOTE_ADDR=f"198.51.100.{n}")
    assert _token(Client(), "alice", PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 429
    # Another account, from an address that did not guess, is not affected.
    user_make(username="bob")
    assert _token(Client(), "bob", PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 200


def test_one_address_is_locked_whatever_usernames_it_tries(user):
    for n in range(LIMIT):
        _form_login("/accounts/login/", f"someone-{n}", "wrong")
    _, refused = _form_login("/accounts/login/", "alice", PASSWORD)
    _assert_locked_page(refused)
    # The same account from another address still logs in.
    assert _token(Client(), "alice", PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 200


def test_a_lockout_ends_after_the_cool_off(user):
    for _ in range(LIMIT):
        _token(Client(), "alice", "wrong")
    assert _token(Client(), "alice", PASSWORD).status_code == 429
    # Fifteen minutes pass for the recorded failures.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=15))
    assert _token(Client(), "alice", PASSWORD).status_code == 200


def _signup(username: str, **extra):
    client = Client(enforce_csrf_checks=True)
    csrf = client.get("/accounts/signup/").cookies["csrftoken"].value
    fields = {
        "csrfmiddlewaretoken": csrf,
        "username": username,
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    return client.post("/accounts/signup/", fields, **extra)


def test_sign_ups_are_limited_per_address(settings):
    settings.SIGNUP_RATE = "2/hour"
    assert _signup("one").status_code == 302
    assert _signup("one").status_code == 200  # a refused sign-up counts too
    refused = _signup("two")
    assert refused.status_code == 429
    assert 3590 <= int(refused["Retry-After"]) <= 3600
    assert "Too many sign-ups from your address. Try again in 60 minutes." in (
        refused.content.decode()
    )
    assert not get_user_model().objects.filter(username="two").exists()
    # Another address has its own count.
    assert _signup("two", REMOTE_ADDR="203.0.113.5").status_code == 302


@pytest.mark.parametrize("name", ["carol", "CAROL"])
def test_sign_up_does_not_say_that_a_username_exists(name):
    user_make(username="carol")
    html = _signup(name).content.decode()
    assert "This username cannot be used. Choose another one." in html
    assert "already exists" not in html
    assert get_user_model().objects.filter(username__iexact="carol").count() == 1
