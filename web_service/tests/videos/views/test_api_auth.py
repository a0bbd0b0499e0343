"""Who may call the API: tokens, sessions, anonymous callers, other people; throttles; schema."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from knox.crypto import hash_token
from knox.models import AuthToken

from jobs.models import JobStatus
from videos.models import Video

from ...conftest import logged_in_client, source_keys
from ...factories import PASSWORD, user_make, video_with_job
from ..services.test_videos import sent_tasks, stored_video

pytestmark = pytest.mark.django_db

NOBODY = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/videos/"),
        ("post", "/api/videos/"),
        ("get", f"/api/videos/{NOBODY}/"),
        ("delete", f"/api/videos/{NOBODY}/"),
        ("post", f"/api/videos/{NOBODY}/cancel/"),
        ("post", f"/api/videos/{NOBODY}/retry/"),
    ],
)
def test_an_anonymous_call_is_a_401_with_a_sentence(method, path):
    response = getattr(Client(), method)(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "error": "Log in first, or send an API token in the header Authorization: Token <key>."
    }


def test_a_wrong_token_is_a_401():
    response = Client(HTTP_AUTHORIZATION="Token nope").get("/api/videos/")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid token."}


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_the_token_endpoint_trades_a_password_for_a_token(user, as_json):
    credentials = {"username": "alice", "password": PASSWORD}
    client = Client(enforce_csrf_checks=True)  # a script: no cookie, no CSRF token
    response = (
        client.post("/api/auth/token/", credentials, content_type="application/json")
        if as_json
        else client.post("/api/auth/token/", credentials)
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    assert AuthToken.objects.get(user=user).digest == hash_token(body["token"])


def test_a_wrong_password_gets_no_token(user):
    response = Client().post("/api/auth/token/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 400
    assert response.json() == {"error": "Unable to log in with provided credentials."}


def test_a_token_uploads_without_csrf(memory_broker, token_client, user):
    upload = SimpleUploadedFile("clip.mp4", b"\x00" * 512, content_type="video/mp4")
    response = token_client.post("/api/videos/", {"file": upload, "title": "Scripted"})
    assert response.status_code == 201, response.content
    video = Video.objects.get(pk=response.json()["id"])
    assert (video.owner, video.title, video.size_bytes) == (user, "Scripted", 512)
    listed = token_client.get("/api/videos/").json()
    assert [v["id"] for v in listed["results"]] == [str(video.id)]


def test_the_list_shows_only_the_callers_videos(token_client, user, other_user):
    mine, _ = video_with_job(owner=user)
    video_with_job(owner=other_user)
    body = token_client.get("/api/videos/").json()
    assert (body["count"], [v["id"] for v in body["results"]]) == (1, [str(mine.id)])


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("delete", ""), ("post", "cancel/"), ("post", "retry/")],
)
def test_another_persons_video_is_a_404_never_a_403(
    token_client, other_user, memory_broker, method, suffix
):
    status = JobStatus.FAILED if suffix == "retry/" else JobStatus.PROCESSING
    theirs, job = video_with_job(owner=other_user, status=status)
    response = getattr(token_client, method)(f"/api/videos/{theirs.id}/{suffix}")
    assert response.status_code == 404
    assert response.json() == {"error": "No video with this id."}
    theirs.refresh_from_db()
    job.refresh_from_db()
    assert (theirs.current_job_id, job.status) == (job.id, status)  # untouched


@pytest.mark.usefixtures("empty_sources")
def test_delete_through_the_api_removes_rows_and_the_source(
    token_client,
    user,
    memory_broker,
    object_store,
    web_s3,
    transcoder_s3,
    django_capture_on_commit_callbacks,
):
    video, job = stored_video(object_store, web_s3, owner=user)
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client.delete(f"/api/videos/{video.id}/")
    assert (response.status_code, response.content) == (204, b"")
    assert not Video.objects.filter(pk=video.pk).exists()
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert sent_tasks(memory_broker) == [
        ("transcode.delete_outputs", {"job_id": str(job.id), "contract_version": 2})
    ]


def test_a_session_delete_needs_the_csrf_token(session, user):
    video, _ = video_with_job(owner=user)
    client, token = session
    assert client.delete(f"/api/videos/{video.id}/").status_code == 403
    assert client.delete(f"/api/videos/{video.id}/", HTTP_X_CSRFTOKEN=token).status_code == 204


def test_requests_over_the_rate_are_a_429_with_retry_after(settings, token_client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"requests": "3/minute", "uploads": "60/hour"},
    }
    assert [token_client.get("/api/videos/").status_code for _ in range(3)] == [200] * 3
    refused = token_client.get("/api/videos/")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert refused.json() == {"error": "Too many requests. Try again in 60 seconds."}


def test_uploads_have_their_own_rate(settings, memory_broker, token_client, user):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"requests": "600/minute", "uploads": "1/hour"},
    }

    def upload():
        clip = SimpleUploadedFile("a.mp4", b"\x00" * 64, content_type="video/mp4")
        return token_client.post("/api/videos/", {"file": clip})

    assert upload().status_code == 201
    refused = upload()
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert refused.json()["error"] == "Too many uploads. Try again in 60 minutes."
    assert token_client.get("/api/videos/").status_code == 200  # reads are not uploads
    # Another person has their own count.
    other = logged_in_client(user_make(username="zed"))
    clip = SimpleUploadedFile("a.mp4", b"\x00" * 64, content_type="video/mp4")
    assert (
        other[0].post("/api/videos/", {"file": clip}, HTTP_X_CSRFTOKEN=other[1]).status_code == 201
    )
    assert Video.objects.filter(owner=user).count() == 1


def test_the_schema_lists_our_paths():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/videos/",
        "/api/videos/{video_id}/",
        "/api/videos/{video_id}/cancel/",
        "/api/videos/{video_id}/retry/",
        "/api/auth/token/",
    } <= set(schema["paths"])
    assert set(schema["paths"]["/api/auth/token/"]) == {"post", "delete"}
    assert set(schema["paths"]["/api/videos/{video_id}/"]) >= {"get", "delete"}


def test_the_docs_page_loads_its_assets_from_this_server():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "https://" not in html  # nothing from a CDN: it works offline
    assert (
        Client()
        .get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
        .status_code
        == 200
    )
