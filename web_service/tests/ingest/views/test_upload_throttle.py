"""The page's upload form has the API's upload rate, one count per person, checked
before the body is read. Issue 23: POST / kept accepting uploads after the API's 429."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from videos.models import Video

from ...conftest import multipart_keys, source_keys

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources", "memory_broker")]


def _clip() -> SimpleUploadedFile:
    return SimpleUploadedFile("a.mp4", b"\x00" * 64, content_type="video/mp4")


@pytest.fixture
def uploads_a_day(settings):
    def rate(count: int) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"requests": "600/minute", "uploads": f"{count}/day"},
        }

    return rate


def test_the_form_over_the_rate_is_a_429_before_its_body_is_read(
    uploads_a_day, session, user, object_store, transcoder_s3
):
    uploads_a_day(1)
    client, csrf = session
    assert client.post("/", {"file": _clip(), "csrfmiddlewaretoken": csrf}).status_code == 302
    stored = source_keys(transcoder_s3, object_store.bucket)

    refused = client.post("/", {"file": _clip(), "csrfmiddlewaretoken": csrf})
    assert refused.status_code == 429
    assert 86_390 <= int(refused["Retry-After"]) <= 86_400
    assert "Too many uploads. Try again in 24 hours." in refused.content.decode()
    assert not refused.wsgi_request.environ["wsgi.input"].read_started
    assert Video.objects.filter(owner=user).count() == 1
    assert source_keys(transcoder_s3, object_store.bucket) == stored
    assert multipart_keys(transcoder_s3, object_store.bucket) == []


def test_the_form_and_the_api_share_one_count(uploads_a_day, session, token_client, user):
    uploads_a_day(2)
    client, csrf = session
    assert token_client.post("/api/videos/", {"file": _clip()}).status_code == 201
    assert client.post("/", {"file": _clip(), "csrfmiddlewaretoken": csrf}).status_code == 302
    assert client.post("/", {"file": _clip(), "csrfmiddlewaretoken": csrf}).status_code == 429
    refused = token_client.post("/api/videos/", {"file": _clip()})
    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many uploads. Try again in 24 hours."}
    assert Video.objects.filter(owner=user).count() == 2
