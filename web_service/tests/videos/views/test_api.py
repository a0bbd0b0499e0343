"""The JSON API through Django's test client (real PostgreSQL and SeaweedFS, memory broker)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from videos.models import JobStatus, Video

from ...factories import success_result, success_result_v1, video_with_job

pytestmark = pytest.mark.django_db


def _csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.get("/api/videos/")
    return client, client.cookies["csrftoken"].value


def test_upload_returns_201_and_stores_under_a_generated_key(memory_broker):
    client, token = _csrf_client()
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


def test_post_without_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    upload = SimpleUploadedFile("a.mp4", b"\x00" * 10)
    assert client.post("/api/videos/", {"file": upload}).status_code == 403
    assert Video.objects.count() == 0


def test_missing_file_is_a_400_with_a_reason():
    client, token = _csrf_client()
    response = client.post("/api/videos/", {"title": "x"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert response.json() == {"error": "Choose a video file to upload."}


def test_empty_file_is_refused():
    client, token = _csrf_client()
    upload = SimpleUploadedFile("a.mp4", b"")
    response = client.post("/api/videos/", {"file": upload}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert response.json() == {"error": "The file is empty."}


def test_detail_has_the_documented_shape():
    video, job = video_with_job(status=JobStatus.READY)
    job.result = success_result(job_id=str(job.id))
    job.source_metadata = job.result["source"]
    job.progress = 100
    job.save()
    body = Client().get(f"/api/videos/{video.id}/").json()
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


def test_a_v1_result_keeps_its_urls():
    # Jobs finished before contract v2 name `path`; it is the same key in the bucket.
    video, job = video_with_job(status=JobStatus.READY)
    job.result = success_result_v1(job_id=str(job.id))
    job.save()
    body = Client().get(f"/api/videos/{video.id}/").json()
    assert body["outputs"][0]["url"] == f"/media/outputs/{job.id}/720p.mp4"
    assert body["poster_url"] == f"/media/outputs/{job.id}/poster.jpg"


def test_unknown_video_is_a_json_404():
    response = Client().get("/api/videos/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert response.json() == {"error": "No video with this id."}


def test_list_is_newest_first():
    first, _ = video_with_job()
    second, _ = video_with_job()
    ids = [v["id"] for v in Client().get("/api/videos/").json()["results"]]
    assert ids == [str(second.id), str(first.id)]


def test_cancel_then_retry_through_the_api(memory_broker):
    video, _ = video_with_job(status=JobStatus.PROCESSING)
    client, token = _csrf_client()
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


def test_job_actions_need_csrf():
    video, _ = video_with_job()
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/api/videos/{video.id}/cancel/").status_code == 403


@pytest.mark.parametrize("content_type", ["image/png", "text/plain", "audio/mpeg"])
def test_declared_non_video_types_are_refused_with_the_pages_message(content_type):
    client, token = _csrf_client()
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
    memory_broker, client_name, shown
):
    client, token = _csrf_client()
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
