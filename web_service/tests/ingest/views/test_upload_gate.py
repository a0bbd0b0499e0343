"""Who uploads is decided before a byte of the body is read (issue 23, holes 3 and 6).

An anonymous upload is refused on its headers, whatever CSRF cookie and field
it set itself; an upload with an Authorization header is judged by the API's
own authenticators (a wrong token, Basic, a session behind it) and then by the
quota, still on its headers. The raw-socket tests send the head and a little
of the body, withhold the rest, and need the answer before it: a server that
read the body would still be waiting. The store must hold no multipart upload.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.parse
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from knox.models import AuthToken

from ingest.upload_handlers import UPLOAD_CHUNK_BYTES
from videos.models import Video

from ...conftest import multipart_keys, source_keys
from ...factories import user_make

pytestmark = pytest.mark.usefixtures("empty_sources")

# A CSRF secret the client made up itself: Django accepts a cookie and a form
# field that agree, so this is no proof of a page the server served.
SELF_MADE_CSRF = "a" * 32
BOUNDARY = "gate-boundary"
DECLARED_FILE_BYTES = 512 * 1024 * 1024  # under the 2 GiB limit: only who uploads can refuse it
SENT_FILE_BYTES = 64 * 1024
ANSWER_WITHIN_SECONDS = 5


def _store_holds_nothing(object_store, transcoder_s3) -> bool:
    bucket = object_store.bucket
    return multipart_keys(transcoder_s3, bucket) == [] and source_keys(transcoder_s3, bucket) == []


class Answer:
    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines)
        }


@contextlib.contextmanager
def _withheld_upload(
    live_server, path: str, headers: dict[str, str], *, sent: int = SENT_FILE_BYTES
) -> Iterator[socket.socket]:
    """POST a multipart upload declaring DECLARED_FILE_BYTES, send `sent` bytes of the
    file, and withhold the rest while the block runs.

    The CSRF field comes first, and the file part's header is sent: a server
    that parsed the body would have begun a multipart upload in the store.
    """
    prefix = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f"{SELF_MADE_CSRF}\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    url = urllib.parse.urlsplit(live_server.url)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(prefix) + DECLARED_FILE_BYTES + len(tail)}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + "\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.settimeout(ANSWER_WITHIN_SECONDS)
        sock.sendall(head + prefix + b"\x00" * sent)
        yield sock


def _answer_before_the_rest(live_server, path: str, headers: dict[str, str]) -> Answer:
    """The answer to a `_withheld_upload`, read while the rest is withheld; fails if none
    comes in time."""
    with _withheld_upload(live_server, path, headers) as sock:
        raw = b""
        try:
            while not _complete(raw):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
        except TimeoutError:
            pytest.fail(
                f"no answer within {ANSWER_WITHIN_SECONDS} s while the body was withheld: "
                f"the server was reading it (got {raw[:200]!r})"
            )
        return Answer(raw)


def _complete(raw: bytes) -> bool:
    head, found, body = raw.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return len(body) >= int(value)
    return True


@pytest.mark.django_db(transaction=True)  # the live server's thread reads what the test wrote
@pytest.mark.parametrize("path", ["/", "/api/videos/"])
def test_an_anonymous_upload_is_refused_before_its_body_is_read(
    live_server, object_store, transcoder_s3, path
):
    answer = _answer_before_the_rest(live_server, path, {"Cookie": f"csrftoken={SELF_MADE_CSRF}"})
    if path == "/":  # the page's form: to the login, as for a GET
        assert (answer.status, answer.headers["location"]) == (302, "/accounts/login/?next=/")
    else:
        assert answer.status == 401
        assert answer.headers["www-authenticate"] == "Token"
        assert json.loads(answer.body) == {
            "error": "Log in first, or send an API token in the header Authorization: Token <key>."
        }
    assert _store_holds_nothing(object_store, transcoder_s3)
    assert Video.objects.count() == 0


@pytest.mark.django_db
def test_an_anonymous_form_upload_with_its_own_csrf_cookie_and_field_reads_nothing(
    object_store, transcoder_s3
):
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = SELF_MADE_CSRF
    clip = SimpleUploadedFile("a.mp4", b"\x00" * 4096, content_type="video/mp4")
    response = client.post("/", {"csrfmiddlewaretoken": SELF_MADE_CSRF, "file": clip})
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/")
    # The test client's body: nothing (no CSRF check, no parser) read a byte of it.
    assert not response.wsgi_request.environ["wsgi.input"].read_started
    assert _store_holds_nothing(object_store, transcoder_s3)


@pytest.mark.django_db(transaction=True)  # the live server's thread reads what the test wrote
@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/"])
def test_a_file_sent_to_a_page_that_takes_no_upload_never_reaches_the_store(
    live_server, object_store, transcoder_s3, path
):
    """Django parses any form body (CsrfViewMiddleware reads it, with a CSRF
    cookie and field the client made up), and with it the upload handlers run:
    only a body the upload gate cleared for someone may be streamed to the store."""
    cookie = {"Cookie": f"csrftoken={SELF_MADE_CSRF}"}
    # Django's parser reads the body a chunk at a time: send it past the file's header.
    with _withheld_upload(live_server, path, cookie, sent=3 * UPLOAD_CHUNK_BYTES):
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            assert _store_holds_nothing(object_store, transcoder_s3)
            time.sleep(0.1)
    assert _store_holds_nothing(object_store, transcoder_s3)


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={SELF_MADE_CSRF}"


QUOTA_FULL_START = "This upload needs 511.9 MiB but only 1 MiB of your 1 MiB quota is left."


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("authorization", "logged_in", "status", "error"),
    [
        # The reviewer's case: Basic is no API scheme here, so DRF falls to
        # the session, whose quota is full; the header skipped the check.
        ("Basic YWxpY2U6c2VjcmV0", True, 413, QUOTA_FULL_START),
        ("Bearer abc", True, 413, QUOTA_FULL_START),
        ("Token {token}", False, 413, QUOTA_FULL_START),
        # A token that is wrong is refused, whatever session comes with it.
        ("Token {wrong}", True, 401, "Invalid token."),
        ("Basic YWxpY2U6c2VjcmV0", False, 401, "Log in first"),
    ],
    ids=["basic-with-session", "bearer-with-session", "token", "wrong-token", "basic-alone"],
)
def test_an_authorization_header_is_judged_by_the_apis_authenticators_before_the_body(
    live_server, object_store, transcoder_s3, settings, authorization, logged_in, status, error
):
    settings.USER_QUOTA_BYTES = 1024 * 1024
    user = user_make(username="alice")
    _, token = AuthToken.objects.create(user=user)
    headers = {
        "Authorization": authorization.format(token=token, wrong=token[:-4] + "0000"),
        "Cookie": _session_cookie(user) if logged_in else f"csrftoken={SELF_MADE_CSRF}",
        "X-CSRFToken": SELF_MADE_CSRF,
    }
    answer = _answer_before_the_rest(live_server, "/api/videos/", headers)
    assert answer.status == status, answer.body
    assert json.loads(answer.body)["error"].startswith(error)
    assert _store_holds_nothing(object_store, transcoder_s3)
    assert Video.objects.count() == 0
