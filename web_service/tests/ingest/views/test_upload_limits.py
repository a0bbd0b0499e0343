"""Upload limits: declared size, length required, one file, the quota. Refused before
the body is read where the headers tell enough, and nothing refused stays in the store."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from jobs.models import JobStatus
from videos.models import Video

from ...conftest import multipart_keys, source_keys
from ...factories import success_result, video_with_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources")]

LENGTH_REQUIRED = (
    "Send the upload with a Content-Length header; uploads of unknown length are not accepted."
)


def _clip(size: int = 64, name: str = "a.mp4") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\x00" * size, content_type="video/mp4")


def _store_is_empty(object_store, transcoder_s3) -> bool:
    bucket = object_store.bucket
    return source_keys(transcoder_s3, bucket) == [] and multipart_keys(transcoder_s3, bucket) == []


def _body_was_read(response) -> bool:
    """Whether anything read the test client's request body (its FakePayload)."""
    return response.wsgi_request.environ["wsgi.input"].read_started


def _raw_request(live_server, head: str, body: bytes) -> tuple[bytes, float]:
    """Send a request head and a few body bytes; return the answer and how long it took."""
    url = urllib.parse.urlsplit(live_server.url)
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


def test_a_declared_50_gib_upload_is_refused_before_its_body_is_read(live_server):
    # 8 bytes of a body that promises 50 GiB: the answer can only come this
    # fast if nothing waited for (or read) the rest, which is never sent.
    head = (
        f"POST /api/videos/ HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {50 * 1024**3}\r\n\r\n"
    )
    answer, seconds = _raw_request(live_server, head, b"--x\r\nCon")
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body == {"error": "The file is larger than the 2 GiB upload limit."}
    assert seconds < 5


def test_a_chunked_upload_is_refused_with_411(live_server):
    head = (
        "POST /api/videos/ HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    answer, _ = _raw_request(live_server, head, b"5\r\n--x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 411"), answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"error": LENGTH_REQUIRED}


@pytest.mark.parametrize("path", ["/api/videos/", "/"])
def test_no_content_length_is_a_411_on_both_upload_endpoints(session, path):
    client, token = session
    response = client.generic(
        "POST", path, b"", content_type=MULTIPART_CONTENT, CONTENT_LENGTH="", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 411
    assert LENGTH_REQUIRED in response.content.decode()


def test_the_page_shows_the_size_refusal_too(session, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    client, token = session
    response = client.post("/", {"file": _clip(200_000), "csrfmiddlewaretoken": token})
    assert response.status_code == 413
    assert not _body_was_read(response)
    assert "The file is larger than the 1 KiB upload limit." in response.content.decode()


@pytest.mark.parametrize("how", ["token", "session"])
def test_two_file_parts_are_a_400_and_leave_nothing(
    how, token_client, session, object_store, transcoder_s3
):
    client, csrf = (token_client, "") if how == "token" else session
    response = client.post(
        "/api/videos/",
        {"file": [_clip(name="one.mp4"), _clip(name="two.mp4")]},
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Send one file per upload."}
    assert Video.objects.count() == 0
    assert _store_is_empty(object_store, transcoder_s3)


def test_two_file_parts_on_the_page_get_the_same_sentence(user, object_store, transcoder_s3):
    client = Client()  # the page's form; the body is parsed before any view runs
    client.force_login(user)
    response = client.post("/", {"file": [_clip(name="one.mp4"), _clip(name="two.mp4")]})
    assert response.status_code == 400
    assert "Send one file per upload." in response.content.decode()
    assert _store_is_empty(object_store, transcoder_s3)


QUOTA_FULL = (
    "This upload needs {needed} but only {left} of your {quota} quota is left. "
    "Delete videos to make room."
)


@pytest.mark.parametrize("how", ["token", "session"])
def test_over_the_quota_by_content_length_is_a_413_before_any_byte_is_stored(
    how, token_client, session, user, settings, object_store, transcoder_s3
):
    settings.USER_QUOTA_BYTES = 100 * 1024
    video_with_job(owner=user)  # 10 bytes already used
    client, csrf = (token_client, "") if how == "token" else session
    response = client.post("/api/videos/", {"file": _clip(300 * 1024)}, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 413
    assert not _body_was_read(response)
    # From Content-Length: the body less the 64 KiB framing allowance.
    needed = response.json()["error"].split(" but ")[0].removeprefix("This upload needs ")
    assert response.json() == {
        "error": QUOTA_FULL.format(needed=needed, left="100.0 KiB", quota="100 KiB")
    }
    assert Video.objects.filter(owner=user).count() == 1
    assert _store_is_empty(object_store, transcoder_s3)


def test_over_the_quota_by_the_real_size_is_refused_after_the_upload_and_deleted(
    token_client, user, settings, object_store, transcoder_s3
):
    _, job = video_with_job(owner=user, status=JobStatus.READY)
    job.result = success_result(job_id=str(job.id))  # an output of 734003 bytes
    job.save()
    settings.USER_QUOTA_BYTES = 734013 + 1000  # 1000 bytes left
    # Content-Length is under the framing allowance, so only the real size tells.
    response = token_client.post("/api/videos/", {"file": _clip(2048)})
    assert response.status_code == 413
    assert response.json() == {
        "error": QUOTA_FULL.format(needed="2 KiB", left="1000 bytes", quota="717.8 KiB")
    }
    assert Video.objects.filter(owner=user).count() == 1
    assert _store_is_empty(object_store, transcoder_s3)
    assert token_client.post("/api/videos/", {"file": _clip(1000)}).status_code == 201


def test_the_page_shows_the_quota_refusal(session, user, settings):
    settings.USER_QUOTA_BYTES = 1024
    client, token = session
    response = client.post("/", {"file": _clip(200_000), "csrfmiddlewaretoken": token})
    assert response.status_code == 413
    assert not _body_was_read(response)
    assert "quota is left. Delete videos to make room." in response.content.decode()
    assert _page_limits(client)["quota_left_bytes"] == 1024


def _page_limits(client: Client) -> dict:
    """What the upload page gives uploader.js: its json_script data (ingest/limits.py)."""
    html = client.get("/").content.decode()
    data = html.split('<script id="upload-limits" type="application/json">', 1)[1]
    return json.loads(data.split("</script>", 1)[0])


def test_the_page_refuses_with_the_servers_own_sentences(session, settings):
    """The page checks a file before sending it, and says what the server would say."""
    settings.UPLOAD_MAX_BYTES = 8192
    settings.USER_QUOTA_BYTES = 4096
    client, token = session
    limits = _page_limits(client)
    said = limits["messages"]
    assert limits["max_bytes"] == 8192
    assert set(limits["neutral_types"]) == {
        "",
        "application/octet-stream",
        "application/mp4",
        "application/x-matroska",
    }

    def refusal(file=None) -> str:
        data = {"file": file} if file is not None else {}
        return client.post("/api/videos/", data, HTTP_X_CSRFTOKEN=token).json()["error"]

    assert refusal(_clip(200_000)) == said["too_large"]
    picture = SimpleUploadedFile("a.png", b"x", content_type="image/png")
    assert refusal(picture) == said["not_a_video"].replace("{type}", "image/png")
    assert refusal(_clip(0)) == said["empty"]
    assert refusal() == said["no_file"]
    # Under the framing allowance, so the real size meets the quota: 4.9 KiB of 4 KiB.
    assert refusal(_clip(5000)) == (
        said["over_quota"].replace("{needs}", "4.9 KiB").replace("{left}", "4 KiB")
    )


def test_the_cap_holds_across_parts(session, settings, object_store, transcoder_s3):
    # A small file with a huge field beside it: Content-Length counts every part.
    settings.UPLOAD_MAX_BYTES = 1024
    client, token = session
    body = encode_multipart(BOUNDARY, {"file": _clip(10), "title": "t" * 200_000})
    response = client.generic(
        "POST", "/api/videos/", body, content_type=MULTIPART_CONTENT, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 413
    assert _store_is_empty(object_store, transcoder_s3)
