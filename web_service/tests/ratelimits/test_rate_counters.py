"""ratelimits: the counter's arithmetic, and the address it is keyed on."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from ratelimits.clients import client_address
from ratelimits.models import RateCounter
from ratelimits.services import (
    Rate,
    rate_hit,
    rate_parse,
    wait_sentence,
)

pytestmark = pytest.mark.django_db


def test_a_window_lets_exactly_the_rate_through_and_says_when_it_ends():
    rate = Rate(limit=3, period_seconds=60)
    verdicts = [rate_hit(key="k", rate=rate, now=1000.0 + i) for i in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    # The window began at the first hit (t=1000) and ends at 1060.
    assert [v.wait_seconds for v in verdicts[3:]] == [57.0, 56.0]
    # Refused hits are counted but never extend the window: at 1060 it starts over.
    assert rate_hit(key="k", rate=rate, now=1060.0).allowed
    assert RateCounter.objects.get(key="k").hits == 1


def test_keys_count_apart():
    rate = Rate(limit=1, period_seconds=60)
    assert rate_hit(key="a", rate=rate, now=0.0).allowed
    assert rate_hit(key="b", rate=rate, now=0.0).allowed
    assert not rate_hit(key="a", rate=rate, now=1.0).allowed


def test_a_key_longer_than_the_column_is_hashed():
    rate = Rate(limit=1, period_seconds=60)
    assert rate_hit(key="x" * 500, rate=rate, now=0.0).allowed
    assert not rate_hit(key="x" * 500, rate=rate, now=1.0).allowed
    assert RateCounter.objects.get().key.startswith("sha256:")


def test_counters_older_than_any_period_are_dropped_when_a_window_begins():
    rate = Rate(limit=1, period_seconds=60)
    rate_hit(key="old", rate=rate, now=0.0)
    rate_hit(key="recent", rate=rate, now=50_000.0)
    rate_hit(key="new", rate=rate, now=90_000.0)
    assert set(RateCounter.objects.values_list("key", flat=True)) == {"recent", "new"}


@pytest.mark.parametrize(
    ("text", "rate"),
    [("600/minute", Rate(600, 60)), ("60/hour", Rate(60, 3600)), ("5/s", Rate(5, 1))],
)
def test_rates_are_read_as_drf_writes_them(text, rate):
    assert rate_parse(text) == rate


def test_a_bad_rate_says_how_to_write_one():
    with pytest.raises(ValueError, match="N/second, N/minute, N/hour or N/day"):
        rate_parse("sixty/hour")


@pytest.mark.parametrize(
    ("seconds", "sentence"),
    [
        (0.2, "Try again in 1 seconds."),
        (60, "Try again in 60 seconds."),
        (3541, "Try again in 60 minutes."),
        (86400, "Try again in 24 hours."),
    ],
)
def test_the_wait_is_said_in_words(seconds, sentence):
    assert wait_sentence(seconds) == sentence


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        # make run: nothing in front; whatever the client writes is ignored.
        (0, "203.0.113.9", "127.0.0.1"),
        # compose: nginx sets the header to the peer it saw.
        (1, "203.0.113.9", "203.0.113.9"),
        # A proxy that appends: only its own entry, the last, is believed.
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        # Two proxies: the client as the outer one saw it.
        (2, "198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        # Fewer entries than proxies, or not an address: the peer is all we know.
        (2, "203.0.113.9", "127.0.0.1"),
        (1, "not-an-address", "127.0.0.1"),
        (1, "", "127.0.0.1"),
    ],
)
def test_the_client_address_trusts_exactly_the_proxies_we_run(
    settings, proxies, forwarded, address
):
    settings.TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == address
