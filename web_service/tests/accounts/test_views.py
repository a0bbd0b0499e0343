"""Sign-up, login and logout through the real forms, with CSRF enforced."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from ..factories import PASSWORD, user_make

pytestmark = pytest.mark.django_db


def _form_client(path: str) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    assert client.get(path).status_code == 200
    return client, client.cookies["csrftoken"].value


def test_signup_creates_the_user_logs_them_in_and_goes_home():
    client, token = _form_client("/accounts/signup/")
    response = client.post(
        "/accounts/signup/",
        {
            "csrfmiddlewaretoken": token,
            "username": "carol",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/")
    user = get_user_model().objects.get(username="carol")
    assert user.check_password(PASSWORD)
    assert not user.is_staff
    home = client.get("/")
    assert home.status_code == 200
    assert "carol" in home.content.decode()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"password1": PASSWORD, "password2": PASSWORD + "x"}, "fields didn’t match"),
        ({"password1": "short", "password2": "short"}, "too short"),
        ({"password1": "password", "password2": "password"}, "too common"),
    ],
    ids=["mismatch", "short", "common"],
)
def test_signup_shows_the_forms_errors(fields, error):
    client, token = _form_client("/accounts/signup/")
    response = client.post(
        "/accounts/signup/", {"csrfmiddlewaretoken": token, "username": "dave", **fields}
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not get_user_model().objects.filter(username="dave").exists()


def test_signup_escapes_what_it_shows_back():
    user_make(username="<b>taken</b>")
    client, token = _form_client("/accounts/signup/")
    response = client.post(
        "/accounts/signup/",
        {
            "csrfmiddlewaretoken": token,
            "username": "<b>taken</b>",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    html = response.content.decode()
    assert "This username cannot be used. Choose another one." in html
    assert "<b>taken</b>" not in html


def test_signup_without_csrf_is_refused():
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/signup/",
        {"username": "eve", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="eve").exists()


def test_login_then_logout():
    user_make(username="frank")
    client, token = _form_client("/accounts/login/")
    bad = client.post(
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": "frank", "password": "wrong"},
    )
    assert bad.status_code == 200
    assert "Please enter a correct username and password" in bad.content.decode()
    response = client.post(
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": "frank", "password": PASSWORD},
    )
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.get("/").status_code == 200

    token = client.cookies["csrftoken"].value  # rotated at login
    assert client.get("/accounts/logout/").status_code == 405  # a link cannot log out
    out = client.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    assert (out.status_code, out["Location"]) == (302, "/accounts/login/")
    assert client.get("/")["Location"] == "/accounts/login/?next=/"


def test_the_login_page_offers_sign_up_to_an_anonymous_visitor():
    html = Client().get("/accounts/login/").content.decode()
    assert 'href="/accounts/signup/"' in html
    assert "Log out" not in html
