"""API tokens (issue 23, hole 8): hashed at rest, expiring, revocable by their owner,
ended by a password change, and a new one at every login."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from ..factories import PASSWORD, user_make

pytestmark = pytest.mark.django_db

INVALID = {"error": "Invalid token."}


@pytest.fixture
def alice():
    return user_make(username="alice")


def _login(username: str = "alice", password: str = PASSWORD) -> dict:
    response = Client().post("/api/auth/token/", {"username": username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def _list(token: str):
    return Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/videos/")


def test_a_token_is_stored_only_as_a_digest(alice):
    token = _login()["token"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        rows = cursor.fetchall()
    assert len(rows) == 1
    # No column holds the token, or its secret part (the first 15 characters
    # are a lookup key, as knox's design has it; the other 49 are never stored).
    assert not any(token[15:] in str(value) for value in rows[0])
    assert _list(token).status_code == 200


def test_each_login_gets_a_new_token_and_both_work(alice):
    first, second = _login()["token"], _login()["token"]
    assert first != second
    assert _list(first).status_code == _list(second).status_code == 200


def test_a_token_expires_after_api_login_ttl(alice, settings):
    before = timezone.now()
    answer = _login()
    expiry = dt.datetime.fromisoformat(answer["expiry"])
    assert dt.timedelta(hours=24) <= expiry - before < dt.timedelta(hours=24, seconds=30)
    AuthToken.objects.update(expiry=timezone.now() - dt.timedelta(seconds=1))  # a day later
    response = _list(answer["token"])
    assert (response.status_code, response.json()) == (401, INVALID)
    assert not AuthToken.objects.exists()  # knox deletes it on the spot


def test_the_owner_revokes_the_token_they_send(alice):
    kept, revoked = _login()["token"], _login()["token"]
    response = Client(HTTP_AUTHORIZATION=f"Token {revoked}").delete("/api/auth/token/")
    assert (response.status_code, response.content) == (204, b"")
    assert (_list(revoked).status_code, _list(revoked).json()) == (401, INVALID)
    assert _list(kept).status_code == 200  # only that one
    again = Client(HTTP_AUTHORIZATION=f"Token {revoked}").delete("/api/auth/token/")
    assert again.status_code == 401


def test_revoking_needs_a_token():
    response = Client().delete("/api/auth/token/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_changing_the_password_on_its_page_ends_every_token(alice):
    tokens = [_login()["token"], _login()["token"]]
    bob_token = _login_other()
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get("/accounts/password_change/")
    assert page.status_code == 200
    assert "Changing it ends every API token you have" in page.content.decode()
    new_password = "another-long-password-7"
    response = client.post(
        "/accounts/password_change/",
        {
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
            "old_password": PASSWORD,
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/accounts/password_change/done/")
    for token in tokens:
        assert (_list(token).status_code, _list(token).json()) == (401, INVALID)
    assert _list(bob_token).status_code == 200  # another person's tokens are theirs
    assert client.get("/").status_code == 200  # this browser stays logged in
    assert _list(_login(password=new_password)["token"]).status_code == 200


def _login_other() -> str:
    user_make(username="bob")
    return _login(username="bob")["token"]


def test_any_new_password_ends_the_tokens_even_outside_the_page(alice):
    # The admin, `manage.py changepassword` and a reset all come down to this.
    token = _login()["token"]
    alice.last_login = timezone.now()
    alice.save()  # a save that keeps the password keeps the token
    assert _list(token).status_code == 200
    alice.set_password("another-long-password-7")
    alice.save()
    assert _list(token).status_code == 401


def test_the_password_page_is_for_logged_in_people_only():
    response = Client().get("/accounts/password_change/")
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=/accounts/password_change/",
    )


def test_a_token_in_the_login_request_is_ignored(alice):
    # POST trusts the password alone; an expired or revoked token beside it
    # must not stop a script from logging in again.
    response = Client(HTTP_AUTHORIZATION="Token stale").post(
        "/api/auth/token/", {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 200
