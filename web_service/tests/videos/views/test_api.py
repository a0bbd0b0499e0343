"""The JSON API through Django's test client (real PostgreSQL and SeaweedFS, memory broker).

Most cases use a logged-in browser session with CSRF enforced, as the page's
JavaScript does; test_api_auth.py covers tokens, anonymous calls and other users.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import JobStatus
from videos.models import Video

from ...factories import success_result, success_result_v1, video_with_job

pytestmark = pytest.mark.django_db


def test_upload_returns_201_and_stores_under_a_generated_key(memory_broker, session, user):
    client, token = session
    upload = SimpleUploadedFile("../../etc/evil name.mp4", b"\x00" * 2048, content_type="video/mp4")
    response = client.post(
        "/api/videos/", {"file": upload, "title": "Holiday"}, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued"
    assert body["url"] == f"/api/videos/{body['id']}/"
    video = Video.objects.get(pk=body["id"])
    assert re.fullmatch(r"sources/[0-9a-f-]{36}", video.source_key)
    assert video.original_filename == "evil name.mp4"
    assert video.size_bytes == 2048
    assert video.owner == user


def test_a_session_post_without_csrf_token_is_refused(session):
    client, _token = session
    upload = SimpleUploadedFile("a.mp4", b"\x00" * 10, content_type="video/mp4")
    response = client.post("/api/videos/", {"file": upload})
    assert response.status_code == 403
    assert response.json() == {"error": "CSRF Failed: CSRF token missing."}
    assert Video.objects.count() == 0


def test_missing_file_is_a_400_with_a_reason(session):
    client, token = session
    response = client.post("/api/videos/", {"title": "x"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert response.json() == {"error": "Choose a video file to upload."}


def test_empty_file_is_refused(session):
    client, token = session
    upload = SimpleUploadedFile("a.mp4", b"")
    response = client.post("/api/videos/", {"file": upload}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert response.json() == {"error": "The file is empty."}


def test_detail_has_the_documented_shape(session, user):
    video, job = video_with_job(owner=user, status=JobStatus.READY)
    job.result = success_result(job_id=str(job.id))
    job.source_metadata = job.result["source"]
    job.progress = 100
    job.save()
    body = session[0].get(f"/api/videos/{video.id}/").json()
    assert set(body) >= {
        "id",
        "title",
        "status",
        "progress",
        "error",
        "source",
        "outputs",
        "poster_url",
        "created_at",
        "finished_at",
    }
    assert body["status"] == "ready"
    assert body["outputs"] == [
        {
            "profile": "720p",
            "url": f"/media/outputs/{job.id}/9f2c4e1a7b3d5f60/720p.mp4",
            "width": 1280,
            "height": 720,
            "duration": 10.0,
            "size_bytes": 734003,
            "video_codec": "h264",
            "audio_codec": "aac",
            "compression_ratio": 1.43,
        }
    ]
    assert body["poster_url"] == f"/media/outputs/{job.id}/9f2c4e1a7b3d5f60/poster.jpg"


def test_a_v1_result_keeps_its_urls(session, user):
    # Jobs finished before contract v2 name `path`; it is the same key in the bucket.
    video, job = video_with_job(owner=user, status=JobStatus.READY)
    job.result = success_result_v1(job_id=str(job.id))
    job.save()
    body = session[0].get(f"/api/videos/{video.id}/").json()
    assert body["outputs"][0]["url"] == f"/media/outputs/{job.id}/720p.mp4"
    assert body["poster_url"] == f"/media/outputs/{job.id}/poster.jpg"


def test_unknown_video_is_a_json_404(session):
    response = session[0].get("/api/videos/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert response.json() == {"error": "No video with this id."}


def test_list_is_newest_first(session, user):
    first, _ = video_with_job(owner=user)
    second, _ = video_with_job(owner=user)
    ids = [v["id"] for v in session[0].get("/api/videos/").json()["results"]]
    assert ids == [str(second.id), str(first.id)]


def test_list_pages_keep_their_shape(session, user):
    videos = [video_with_job(owner=user)[0] for _ in range(21)]
    client = session[0]
    first = client.get("/api/videos/").json()
    assert (first["count"], first["page"], first["pages"]) == (21, 1, 2)
    assert list(first) == ["count", "page", "pages", "results"]
    assert len(first["results"]) == 20
    second = client.get("/api/videos/?page=2").json()
    assert [v["id"] for v in second["results"]] == [str(videos[0].id)]
    # Out of range or not a number: the nearest page, as before DRF.
    assert client.get("/api/videos/?page=99").json()["page"] == 2
    assert client.get("/api/videos/?page=x").json()["page"] == 1


def test_cancel_then_retry_through_the_api(memory_broker, session, user):
    video, _ = video_with_job(owner=user, status=JobStatus.PROCESSING)
    client, token = session
    cancelled = client.post(f"/api/videos/{video.id}/cancel/", HTTP_X_CSRFTOKEN=token)
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["can_retry"]) == ("cancelled", True)

    again = client.post(f"/api/videos/{video.id}/cancel/", HTTP_X_CSRFTOKEN=token)
    assert again.status_code == 409
    assert "this one is cancelled" in again.json()["error"]

    retried = client.post(f"/api/videos/{video.id}/retry/", HTTP_X_CSRFTOKEN=token)
    assert retried.status_code == 200
    assert retried.json()["status"] == "queued"
    assert retried.json()["queue_position"] == 1


def test_job_actions_need_csrf(session, user):
    video, _ = video_with_job(owner=user)
    response = session[0].post(f"/api/videos/{video.id}/cancel/")
    assert response.status_code == 403
    assert response.json()["error"].startswith("CSRF Failed")


@pytest.mark.parametrize("content_type", ["image/png", "text/plain", "audio/mpeg"])
def test_declared_non_video_types_are_refused_with_the_pages_message(content_type, session):
    client, token = session
    upload = SimpleUploadedFile("x.bin", b"\x00" * 10, content_type=content_type)
    response = client.post("/api/videos/", {"file": upload}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert response.json() == {
        "error": f"Only video files can be uploaded; this file is {content_type}."
    }


@pytest.mark.parametrize(
    ("client_name", "shown"),
    [
        ("Ünïcødé 视频 🎬.mp4", "Ünïcødé 视频 🎬.mp4"),
        ("  spaced   out .mp4", "spaced   out .mp4"),
        ("""it's "quoted".mp4""", """it's "quoted".mp4"""),
        ("a; rm -rf ~ $(id) `id` | x & y.mp4", "a; rm -rf ~ $(id) `id` | x & y.mp4"),
        ("-i evil.mp4", "-i evil.mp4"),
        ("..\\..\\windows\\evil.mp4", "evil.mp4"),
        ("line\nbreak\x00.mp4", "linebreak.mp4"),
        ("<img src=x onerror=alert(1)>.mp4", "<img src=x onerror=alert(1)>.mp4"),
        ("é" * 200 + ".mp4", "é" * 200 + ".mp4"),  # 404 bytes: over a file system's 255
        ("x" * 300 + ".mp4", "x" * 251 + ".mp4"),  # Django keeps the extension
    ],
    ids=[
        "unicode",
        "spaces",
        "quotes",
        "shell",
        "dash",
        "backslashes",
        "control",
        "html",
        "long-bytes",
        "long-chars",
    ],
)
def test_a_hostile_file_name_is_kept_as_text_and_never_used_as_a_key(
    memory_broker, session, client_name, shown
):
    client, token = session
    upload = SimpleUploadedFile(client_name, b"\x00" * 64, content_type="video/mp4")
    response = client.post("/api/videos/", {"file": upload}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
    video = Video.objects.get(pk=response.json()["id"])
    # The stored object's key is ours; the client's name is only a label.
    assert re.fullmatch(r"sources/[0-9a-f-]{36}", video.source_key)
    assert video.original_filename == shown
    page = client.get(f"/videos/{video.id}/").content.decode()
    assert "<img src=x" not in page  # autoescaped wherever it is shown
    if "<img" in shown:
        assert "&lt;img src=x onerror=alert(1)&gt;.mp4" in page
