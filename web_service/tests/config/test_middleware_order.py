"""The middleware order the upload path and the error pages rely on.

Django runs request phases top to bottom and response phases bottom to top,
so each rule below is "A above B". Only comments in settings.MIDDLEWARE held
these; a reordering now fails here with the reason, before a test of the
behaviour it breaks (an upload body read before it was refused, say) has to.
"""

from __future__ import annotations

import pytest
from django.conf import settings

# (above, below, why): `above` must come earlier in settings.MIDDLEWARE than `below`.
RULES = [
    (
        "videos.middleware.RequestMetricsMiddleware",
        "ingest.middleware.UploadPrecheckMiddleware",
        "the request metrics time every answer, the upload refusals included",
    ),
    (
        "csp.middleware.CSPMiddleware",
        "ingest.middleware.UploadPrecheckMiddleware",
        "the refusal pages carry the Content-Security-Policy too",
    ),
    (
        "ingest.middleware.UploadCleanupMiddleware",
        "ingest.middleware.UploadPrecheckMiddleware",
        "the cleanup runs last on the way out, however the request ended",
    ),
    (
        "ingest.middleware.UploadPrecheckMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "a too-large or length-less upload is refused before anything else runs",
    ),
    (
        "django.contrib.sessions.middleware.SessionMiddleware",
        "ingest.middleware.UploadGateMiddleware",
        "the gate needs the session to know who uploads",
    ),
    (
        "ingest.middleware.UploadGateMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "CSRF's process_view reads the body: the gate must refuse first",
    ),
    (
        "django.middleware.csrf.CsrfViewMiddleware",
        "videos.middleware.DatabaseUnavailableMiddleware",
        "the database middleware is last, to see errors from everything above",
    ),
]


@pytest.mark.parametrize(("above", "below", "why"), RULES, ids=[r[2][:40] for r in RULES])
def test_middleware_order(above: str, below: str, why: str):
    order = list(settings.MIDDLEWARE)
    assert above in order, f"{above} must be installed"
    assert below in order, f"{below} must be installed"
    assert order.index(above) < order.index(below), f"{above} must be above {below}: {why}"


def test_the_database_middleware_is_last():
    assert settings.MIDDLEWARE[-1] == "videos.middleware.DatabaseUnavailableMiddleware"
