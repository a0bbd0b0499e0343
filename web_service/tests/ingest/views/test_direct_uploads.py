"""Resumable uploads through the API, with the parts PUT to the real SeaweedFS by URL.

The parts go over HTTP to the presigned URLs exactly as a browser sends
them (urllib3: the web's venv has no `requests`), so what is judged is what
the store really holds.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
import urllib3
from django.test import Client

from ingest.models import Upload
from ingest.services.direct_uploads import MIN_PART_BYTES
from videos.models import Video

from ...conftest import logged_in_client, multipart_keys, source_keys, transcode_queue_drain
from ...factories import user_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources")]

PART = MIN_PART_BYTES


def _start(client: Client, token: str, size: int, **fields: Any):
    body = {"filename": "clip.mp4", "size": size, "content_type": "video/mp4", **fields}
    return client.post(
        "/api/uploads/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )


def _put_part(client: Client, token: str, upload_id: str, number: int, data: bytes) -> str:
    signed = client.post(f"/api/uploads/{upload_id}/parts/{number}/", HTTP_X_CSRFTOKEN=token)
    assert signed.status_code == 200, signed.content
    answer = urllib3.request("PUT", signed.json()["url"], body=data)
    assert answer.status == 200, answer.data
    return answer.headers["ETag"]


def _complete(client: Client, token: str, upload_id: str, etags: dict[int, str]):
    parts = [{"PartNumber": n, "ETag": etag} for n, etag in sorted(etags.items())]
    return client.post(
        f"/api/uploads/{upload_id}/complete/",
        {"parts": parts},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )


def _chunks(content: bytes, part_size: int) -> list[bytes]:
    return [content[i : i + part_size] for i in range(0, len(content), part_size)]


def test_create_sign_put_list_complete_records_the_video_and_sends_its_job(
    session, object_store, transcoder_s3, memory_broker, django_capture_on_commit_callbacks
):
    client, token = session
    content = os.urandom(2 * PART + 12345)
    started = _start(client, token, len(content), title="  Holiday  ")
    assert started.status_code == 201, started.content
    body = started.json()
    assert body["key"].startswith("sources/")
    assert body["part_size"] == PART
    assert body["upload_id"] == Upload.objects.get(pk=body["id"]).upload_id

    etags = {
        n: _put_part(client, token, body["id"], n, data)
        for n, data in enumerate(_chunks(content, body["part_size"]), start=1)
    }
    listed = client.get(f"/api/uploads/{body['id']}/parts/").json()["parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [
        (1, etags[1], PART),
        (2, etags[2], PART),
        (3, etags[3], 12345),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        done = _complete(client, token, body["id"], etags)
    assert done.status_code == 201, done.content
    video = Video.objects.get(pk=done.json()["id"])
    assert done.json() == {
        "id": str(video.pk),
        "status": "queued",
        "url": f"/api/videos/{video.pk}/",
    }
    assert (video.title, video.original_filename, video.size_bytes, video.source_key) == (
        "Holiday",
        "clip.mp4",
        len(content),
        body["key"],
    )
    stored = transcoder_s3.get_object(Bucket=object_store.bucket, Key=body["key"])["Body"].read()
    assert stored == content
    sent = transcode_queue_drain(memory_broker)
    assert [(s.task, s.kwargs["source_key"], s.kwargs["job_id"]) for s in sent] == [
        ("transcode.convert_video", body["key"], str(video.current_job_id))
    ]
    assert not Upload.objects.exists()
    assert multipart_keys(transcoder_s3, object_store.bucket) == []


def test_an_upload_cut_after_two_of_five_parts_resumes_from_the_list_byte_identical(
    session, object_store, transcoder_s3, memory_broker
):
    client, token = session
    content = os.urandom(4 * PART + 777)
    body = _start(client, token, len(content)).json()
    chunks = _chunks(content, body["part_size"])
    assert len(chunks) == 5
    for n in (1, 2):
        _put_part(client, token, body["id"], n, chunks[n - 1])

    # A new page (or script) knows only the upload's id: it asks the store what it holds.
    listed = client.get(f"/api/uploads/{body['id']}/parts/").json()["parts"]
    etags = {p["PartNumber"]: p["ETag"] for p in listed}
    assert sorted(etags) == [1, 2]
    for n in range(1, 6):
        if n not in etags:
            etags[n] = _put_part(client, token, body["id"], n, chunks[n - 1])
    assert _complete(client, token, body["id"], etags).status_code == 201
    stored = transcoder_s3.get_object(Bucket=object_store.bucket, Key=body["key"])["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(content).hexdigest()


def test_abort_leaves_no_object_no_multipart_upload_and_no_row(
    session, object_store, transcoder_s3
):
    client, token = session
    body = _start(client, token, PART + 10).json()
    _put_part(client, token, body["id"], 1, os.urandom(PART))
    assert client.delete(f"/api/uploads/{body['id']}/", HTTP_X_CSRFTOKEN=token).status_code == 204
    assert multipart_keys(transcoder_s3, object_store.bucket) == []
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert not Upload.objects.exists()
    assert client.get(f"/api/uploads/{body['id']}/parts/").status_code == 404


def test_a_size_other_than_declared_is_refused_at_completion_and_nothing_is_kept(
    session, object_store, transcoder_s3, memory_broker
):
    client, token = session
    # Each part URL takes only its exact length, so a short file is a missing part.
    body = _start(client, token, PART + 1000).json()
    etag = _put_part(client, token, body["id"], 1, b"x" * PART)
    refused = _complete(client, token, body["id"], {1: etag})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": f"The uploaded file has {PART} bytes, but {PART + 1000} were declared."
        " Nothing was kept; upload it again."
    }
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert multipart_keys(transcoder_s3, object_store.bucket) == []
    assert not Upload.objects.exists()
    assert not Video.objects.exists()
    assert transcode_queue_drain(memory_broker) == []


def test_a_wrong_etag_is_refused_and_the_upload_can_still_be_completed(
    session, object_store, transcoder_s3, memory_broker
):
    client, token = session
    body = _start(client, token, 10).json()
    etag = _put_part(client, token, body["id"], 1, b"0123456789")
    refused = _complete(client, token, body["id"], {1: '"0000"'})
    assert refused.status_code == 400
    assert refused.json()["error"].startswith("The store does not hold the parts listed.")
    assert _complete(client, token, body["id"], {1: etag}).status_code == 201


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"size": 2 * 1024**3 + 1}, 413, "The file is larger than the 2 GiB upload limit."),
        ({"size": 0}, 400, "The file is empty."),
        (
            {"content_type": "image/png"},
            400,
            "Only video files can be uploaded; this file is image/png.",
        ),
        ({"size": -1}, 400, "size: Ensure this value is greater than or equal to 0."),
        ({"filename": ""}, 400, "filename: This field may not be blank."),
    ],
)
def test_create_refuses_what_the_form_refuses(
    session, transcoder_s3, object_store, fields, status, message
):
    client, token = session
    body = {"filename": "clip.mp4", "size": 100, "content_type": "video/mp4", **fields}
    refused = client.post(
        "/api/uploads/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert (refused.status_code, refused.json()) == (status, {"error": message})
    assert multipart_keys(transcoder_s3, object_store.bucket) == []
    assert not Upload.objects.exists()


def test_create_refuses_what_does_not_fit_the_quota(session, settings, transcoder_s3, object_store):
    settings.USER_QUOTA_BYTES = 1024**2
    client, token = session
    refused = _start(client, token, 1024**2 + 1)
    assert refused.status_code == 413
    assert refused.json() == {
        "error": "This upload needs 1.0 MiB but only 1 MiB of your 1 MiB quota is left."
        " Delete videos to make room."
    }
    assert multipart_keys(transcoder_s3, object_store.bucket) == []


def test_the_quota_is_checked_again_at_completion(session, settings, transcoder_s3, object_store):
    client, token = session
    body = _start(client, token, 100).json()
    etag = _put_part(client, token, body["id"], 1, b"y" * 100)
    settings.USER_QUOTA_BYTES = 50  # another upload took the room meanwhile
    refused = _complete(client, token, body["id"], {1: etag})
    assert refused.status_code == 413
    assert refused.json()["error"].startswith("This upload needs 100 bytes but only 50 bytes")
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert not Upload.objects.exists()
    assert not Video.objects.exists()


def test_another_person_gets_404_on_every_endpoint(session, transcoder_s3, object_store):
    client, token = session
    body = _start(client, token, 10).json()
    etag = _put_part(client, token, body["id"], 1, b"0123456789")
    other, other_token = logged_in_client(user_make(username="mallory"))
    base = f"/api/uploads/{body['id']}"
    answers = [
        other.post(f"{base}/parts/1/", HTTP_X_CSRFTOKEN=other_token),
        other.get(f"{base}/parts/"),
        _complete(other, other_token, body["id"], {1: etag}),
        other.delete(f"{base}/", HTTP_X_CSRFTOKEN=other_token),
    ]
    assert [(a.status_code, a.json()) for a in answers] == [
        (404, {"error": "No upload with this id."})
    ] * 4
    assert Upload.objects.filter(pk=body["id"]).exists()
    assert multipart_keys(transcoder_s3, object_store.bucket) == [body["key"]]


def test_session_writes_need_the_csrf_token_and_a_token_needs_none(
    session, token_client, transcoder_s3, object_store
):
    client, token = session
    body = {"filename": "clip.mp4", "size": 10, "content_type": "video/mp4"}
    assert client.post("/api/uploads/", body, content_type="application/json").status_code == 403
    started = _start(client, token, 10).json()
    base = f"/api/uploads/{started['id']}"
    assert client.post(f"{base}/parts/1/").status_code == 403
    assert client.post(f"{base}/complete/", {"parts": []}, "application/json").status_code == 403
    assert client.delete(f"{base}/").status_code == 403
    assert Upload.objects.count() == 1
    by_token = token_client.post("/api/uploads/", body, content_type="application/json")
    assert by_token.status_code == 201


@pytest.mark.parametrize("number", [0, 2, 10001])
def test_part_numbers_out_of_range_are_refused(session, number):
    client, token = session
    body = _start(client, token, 10).json()
    refused = client.post(f"/api/uploads/{body['id']}/parts/{number}/", HTTP_X_CSRFTOKEN=token)
    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "This upload has 1 part: part numbers run from 1 to 1."},
    )


def test_starting_an_upload_counts_against_the_uploads_rate(settings, token_client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"requests": "600/minute", "uploads": "1/hour"},
    }
    body = {"filename": "clip.mp4", "size": 10, "content_type": "video/mp4"}
    assert token_client.post("/api/uploads/", body, "application/json").status_code == 201
    refused = token_client.post("/api/uploads/", body, "application/json")
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("Too many requests.")
    upload = Upload.objects.get()
    # Signing parts is not starting an upload: it is not counted as one.
    assert token_client.post(f"/api/uploads/{upload.pk}/parts/1/").status_code == 200


def test_the_store_lets_a_browser_put_a_part_and_read_its_etag(session):
    """SeaweedFS's defaults (-s3.allowedOrigins "*"): the preflight passes and ETag is exposed."""
    client, token = session
    body = _start(client, token, 10).json()
    url = client.post(f"/api/uploads/{body['id']}/parts/1/", HTTP_X_CSRFTOKEN=token).json()["url"]
    origin = {"Origin": "http://localhost:8000"}
    preflight = urllib3.request(
        "OPTIONS", url, headers={**origin, "Access-Control-Request-Method": "PUT"}
    )
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", origin["Origin"])
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]
    put = urllib3.request("PUT", url, body=b"0123456789", headers=origin)
    assert put.status == 200
    exposed = [h.strip().lower() for h in put.headers["Access-Control-Expose-Headers"].split(",")]
    assert "etag" in exposed
    assert put.headers["ETag"]
