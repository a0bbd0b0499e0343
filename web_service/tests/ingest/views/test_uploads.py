"""Uploads stream into the real object store; whatever is refused leaves nothing behind."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from core import objectstore
from ingest.multipart import FIRST_PART_BYTES, PART_BYTES
from videos.models import Video

from ...conftest import multipart_keys, source_keys, transcode_queue_drain

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources")]


def _post(client: Client, token: str, upload: SimpleUploadedFile, **fields):
    return client.post("/api/videos/", {"file": upload, **fields}, HTTP_X_CSRFTOKEN=token)


def _sent_kwargs(connection) -> list[dict]:
    return [
        {"task": sent.task, "kwargs": sent.kwargs} for sent in transcode_queue_drain(connection)
    ]


def test_an_upload_is_stored_under_sources_and_dispatched_with_v2_kwargs(
    memory_broker, object_store, transcoder_s3, django_capture_on_commit_callbacks, session
):
    # Over two parts, so the streaming path (parts in flight, then the rest) is used.
    content = bytes(range(256)) * (PART_BYTES // 256 * 2 + 1000)
    client, token = session
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client, token, SimpleUploadedFile("clip.mp4", content, content_type="video/mp4")
        )
    assert response.status_code == 201, response.content
    video = Video.objects.get(pk=response.json()["id"])
    assert video.source_key.startswith("sources/")
    assert video.size_bytes == len(content)
    stored = transcoder_s3.get_object(Bucket=object_store.bucket, Key=video.source_key)
    assert stored["Body"].read() == content
    assert multipart_keys(transcoder_s3, object_store.bucket) == []
    assert _sent_kwargs(memory_broker) == [
        {
            "task": "transcode.convert_video",
            "kwargs": {
                "job_id": str(video.current_job_id),
                "source_key": video.source_key,
                "profiles": ["720p", "hls"],
                "contract_version": 2,
            },
        }
    ]


def test_a_small_upload_is_one_part(memory_broker, object_store, transcoder_s3, session):
    client, token = session
    response = _post(client, token, SimpleUploadedFile("a.mp4", b"tiny", content_type="video/mp4"))
    assert response.status_code == 201
    key = Video.objects.get().source_key
    body = transcoder_s3.get_object(Bucket=object_store.bucket, Key=key)["Body"].read()
    assert body == b"tiny"


def test_the_first_part_is_the_smallest_s3_allows(
    memory_broker, object_store, transcoder_s3, session
):
    # A 10 s 720p clip (7.8 MiB) was one 8 MiB part, sent only once the whole
    # body had arrived; with a 5 MiB first part the store starts on it early.
    client, token = session
    content = b"\x03" * (FIRST_PART_BYTES + 2 * 1024 * 1024)
    response = _post(client, token, SimpleUploadedFile("a.mp4", content, content_type="video/mp4"))
    assert response.status_code == 201
    key = Video.objects.get().source_key
    first = transcoder_s3.head_object(Bucket=object_store.bucket, Key=key, PartNumber=1)
    # Sent with the chunk that took it past 5 MiB (Django reads 1 MiB at a time).
    assert FIRST_PART_BYTES <= first["ContentLength"] < PART_BYTES
    assert first["PartsCount"] == 2


def test_over_the_declared_limit_is_a_413_before_any_byte_is_stored(
    settings, object_store, transcoder_s3, session
):
    settings.UPLOAD_MAX_BYTES = 1024
    client, token = session
    upload = SimpleUploadedFile("big.mp4", b"\x00" * 200_000, content_type="video/mp4")
    response = _post(client, token, upload)
    assert response.status_code == 413
    assert response.json() == {"error": "The file is larger than the 1 KiB upload limit."}
    assert Video.objects.count() == 0
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert multipart_keys(transcoder_s3, object_store.bucket) == []


def test_over_the_limit_while_streaming_aborts_the_parts_already_sent(
    settings, object_store, transcoder_s3, session
):
    # Content-Length is within the limit's framing allowance, so only the
    # streaming check can catch it, after a whole part was sent to the store.
    settings.UPLOAD_MAX_BYTES = PART_BYTES + 1024
    client, token = session
    upload = SimpleUploadedFile("big.mp4", b"\x01" * (PART_BYTES + 4096), content_type="video/mp4")
    response = _post(client, token, upload)
    assert response.status_code == 413
    assert response.json()["error"] == "The file is larger than the 8.0 MiB upload limit."
    assert Video.objects.count() == 0
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert multipart_keys(transcoder_s3, object_store.bucket) == []


def test_store_down_is_a_503_with_a_clear_message_and_nothing_is_left(
    settings, object_store, transcoder_s3, session
):
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:1"  # nothing listens there
    client, token = session
    upload = SimpleUploadedFile("a.mp4", b"\x00" * 64, content_type="video/mp4")
    response = _post(client, token, upload)
    assert response.status_code == 503
    assert response.json() == {"error": objectstore.STORE_UNAVAILABLE_MESSAGE}
    assert Video.objects.count() == 0
    settings.S3_ENDPOINT_URL = object_store.endpoint_url
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert multipart_keys(transcoder_s3, object_store.bucket) == []


def test_store_down_shows_the_message_on_the_page(settings, user):
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:1"
    upload = SimpleUploadedFile("a.mp4", b"\x00" * 64, content_type="video/mp4")
    client = Client()
    client.force_login(user)
    response = client.post("/", {"file": upload})
    assert response.status_code == 503
    assert objectstore.STORE_UNAVAILABLE_MESSAGE in response.content.decode()


@pytest.mark.parametrize(
    ("upload", "fields", "error"),
    [
        (SimpleUploadedFile("a.mp4", b""), {}, "The file is empty."),
        (
            SimpleUploadedFile("a.png", b"\x89PNG", content_type="image/png"),
            {},
            "Only video files can be uploaded; this file is image/png.",
        ),
        (
            SimpleUploadedFile("a.mp4", b"\x00" * 64, content_type="video/mp4"),
            {"title": "t" * 201},
            "Ensure this value has at most 200 characters (it has 201).",
        ),
    ],
    ids=["empty", "not-video", "invalid-title"],
)
def test_a_refused_upload_leaves_no_object(
    object_store, transcoder_s3, upload, fields, error, session
):
    client, token = session
    response = _post(client, token, upload, **fields)
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert multipart_keys(transcoder_s3, object_store.bucket) == []


def test_an_upload_refused_by_csrf_leaves_no_object(object_store, transcoder_s3, session):
    # The body is parsed, and the file stored, inside CsrfViewMiddleware,
    # whose 403 never reaches a view: the cleanup middleware removes it.
    client, _token = session  # the cookie, but no token in the request
    response = client.post(
        "/api/videos/",
        {"file": SimpleUploadedFile("a.mp4", b"\x00" * 64, content_type="video/mp4")},
    )
    assert response.status_code == 403
    assert Video.objects.count() == 0
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert multipart_keys(transcoder_s3, object_store.bucket) == []


def test_an_upload_cut_off_mid_body_is_aborted(object_store, transcoder_s3, session):
    # The body stops after two and a half parts while Content-Length promises
    # more: reading it fails mid-file, as when a client goes away.
    upload = SimpleUploadedFile("a.mp4", b"\x02" * (PART_BYTES * 3), content_type="video/mp4")
    body = encode_multipart(BOUNDARY, {"file": upload})
    client, token = session
    client.raise_request_exception = False
    response = client.generic(
        "POST",
        "/api/videos/",
        body[: int(PART_BYTES * 2.5)],
        content_type=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(len(body)),
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 500
    assert Video.objects.count() == 0
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert multipart_keys(transcoder_s3, object_store.bucket) == []
