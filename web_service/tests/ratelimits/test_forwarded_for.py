"""A client cannot reset a limit per address by writing its own X-Forwarded-For.

DRF keyed the anonymous throttle on the whole X-Forwarded-For header when
NUM_PROXIES was unset, so a new header was a new address (issue 23). Now
every limit per address keys on ratelimits.clients.client_address, which
believes the header for exactly WEB_TRUSTED_PROXIES hops: none by default.
"""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _forged(n: int) -> str:
    return f"198.51.100.{n}"


@pytest.fixture
def three_a_minute(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"requests": "3/minute", "uploads": "60/hour"},
    }


@pytest.mark.usefixtures("three_a_minute")
def test_a_new_forwarded_for_does_not_reset_the_anonymous_throttle():
    client = Client()  # anonymous; the API schema is open to anyone
    answers = [
        client.get("/api/schema/?format=json", HTTP_X_FORWARDED_FOR=_forged(n)).status_code
        for n in range(3)
    ]
    assert answers == [200, 200, 200]
    refused = client.get("/api/schema/?format=json", HTTP_X_FORWARDED_FOR=_forged(99))
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert refused.json() == {"error": "Too many requests. Try again in 60 seconds."}


@pytest.mark.usefixtures("three_a_minute")
def test_behind_one_proxy_only_its_own_entry_is_believed(settings):
    # Compose: one proxy, nginx. Were it to append to the client's header, the
    # client's part is ignored; two clients behind it still count apart.
    settings.TRUSTED_PROXIES = 1
    client = Client()

    def through_the_proxy(n: int, client_address: str):
        forwarded = f"{_forged(n)}, {client_address}"
        return client.get("/api/schema/?format=json", HTTP_X_FORWARDED_FOR=forwarded)

    assert [through_the_proxy(n, "203.0.113.1").status_code for n in range(3)] == [200] * 3
    assert through_the_proxy(99, "203.0.113.1").status_code == 429
    assert through_the_proxy(99, "203.0.113.2").status_code == 200


def test_a_new_forwarded_for_does_not_reset_the_login_lockout(settings, user):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for n in range(3):  # a new username and a new header each time: only the address is shared
        client.post(
            "/api/auth/token/",
            {"username": f"guess-{n}", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=_forged(n),
        )
    refused = client.post(
        "/api/auth/token/",
        {"username": "alice", "password": "a-long-test-password-9"},
        HTTP_X_FORWARDED_FOR=_forged(99),
    )
    assert refused.status_code == 429
    assert "token" not in refused.json()
