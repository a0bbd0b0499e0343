"""GET /metrics on the web: who may read it, and the exact counts after uploads."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources")]

OUTSIDER = "203.0.113.9"  # TEST-NET-3: not loopback


def _samples(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_loopback_reads_the_metrics_without_a_token(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"web_request_duration_seconds" in response.content


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Bearer "])
def test_elsewhere_the_metrics_need_the_token(client, settings, authorization):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDER, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "metrics token" in response.json()["error"]
    assert b"web_request_duration_seconds" not in response.content


def test_with_the_token_elsewhere_reads_them(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    response = client.get(
        "/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer s3cret-metrics-token"
    )
    assert response.status_code == 200


def test_without_a_token_set_no_bearer_opens_them(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 401


def test_uploads_started_completed_and_refused_are_counted_exactly(
    memory_broker, object_store, django_capture_on_commit_callbacks, session
):
    client, token = session
    before = _samples(Client())

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return _samples(Client()).get(key, 0.0) - before.get(key, 0.0)

    clip = SimpleUploadedFile("clip.mp4", b"\x00" * 4096, content_type="video/mp4")
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post("/api/videos/", {"file": clip}, HTTP_X_CSRFTOKEN=token)
    assert made.status_code == 201, made.content
    stranger = Client(enforce_csrf_checks=True)
    refused = stranger.post("/api/videos/", {"file": clip})
    assert refused.status_code in (401, 403), refused.content

    assert grew("web_uploads_started_total") == 2
    assert grew("web_uploads_completed_total") == 1
    reason = {401: "unauthenticated", 403: "forbidden"}[refused.status_code]
    assert grew("web_uploads_refused_total", reason=reason) == 1
    created = {"view": "videos:api-list", "method": "POST", "status": "201"}
    assert grew("web_request_duration_seconds_count", **created) == 1
