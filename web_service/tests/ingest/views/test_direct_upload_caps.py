"""What uploads in progress may hold, for one person and for the whole site (issue 23, 2 and 9).

Five uploads of 150 MiB each were accepted at once under a 200 MiB quota:
an upload in progress was not counted. Now each holds its declared size
against its owner's quota and the site's (SITE_QUOTA_BYTES), and the
uploads in progress are capped per person (USER_OPEN_UPLOADS_MAX) and for
the site (SITE_OPEN_UPLOADS_MAX). A refusal stores nothing.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3
from django.db import connections
from django.test import Client

from ingest.models import Upload

from ...conftest import logged_in_client, multipart_keys
from ...factories import user_make, video_with_job
from .live_session import LiveSession

pytestmark = pytest.mark.usefixtures("empty_sources")

MiB = 1024 * 1024
START = "/api/uploads/"


def _start(client: Client, token: str, size: int):
    body = {"filename": "clip.mp4", "size": size, "content_type": "video/mp4"}
    return client.post(START, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)


@pytest.mark.django_db
def test_uploads_in_progress_hold_their_declared_size_against_the_quota(
    session, settings, object_store, transcoder_s3
):
    settings.USER_QUOTA_BYTES = 200 * MiB
    client, token = session
    first = _start(client, token, 150 * MiB)
    assert first.status_code == 201
    refused = _start(client, token, 150 * MiB)
    assert (refused.status_code, refused.json()) == (
        413,
        {
            "error": "This upload needs 150 MiB but only 50 MiB of your 200 MiB quota is left"
            " (150 MiB is held by uploads in progress). Delete videos or cancel uploads to"
            " make room."
        },
    )
    assert multipart_keys(transcoder_s3, object_store.bucket) == [first.json()["key"]]
    assert Upload.objects.count() == 1

    # Cancelled, it holds nothing.
    cancel = client.delete(f"{START}{first.json()['id']}/", HTTP_X_CSRFTOKEN=token)
    assert cancel.status_code == 204
    assert _start(client, token, 150 * MiB).status_code == 201


@pytest.mark.django_db
def test_a_completed_upload_moves_what_it_holds_to_its_video_counted_once(session, settings):
    settings.USER_QUOTA_BYTES = 100
    client, token = session
    started = _start(client, token, 60).json()
    assert _start(client, token, 41).status_code == 413  # 60 held
    url = client.post(f"{START}{started['id']}/parts/1/", HTTP_X_CSRFTOKEN=token).json()["url"]
    etag = urllib3.request("PUT", url, body=b"v" * 60).headers["ETag"]
    done = client.post(
        f"{START}{started['id']}/complete/",
        {"parts": [{"PartNumber": 1, "ETag": etag}]},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert done.status_code == 201, done.content
    # The video now holds the 60 bytes, and the finished upload nothing.
    assert _start(client, token, 40).status_code == 201
    assert _start(client, token, 1).status_code == 413


@pytest.mark.django_db
def test_uploads_in_progress_per_person_are_capped_with_a_429_and_retry_after(
    session, settings, object_store, transcoder_s3
):
    settings.USER_OPEN_UPLOADS_MAX = 2
    settings.UPLOAD_ABANDONED_AFTER = 3600
    client, token = session
    kept = [_start(client, token, 10).json() for _ in range(2)]
    refused = _start(client, token, 10)
    assert refused.status_code == 429
    assert refused.json() == {
        "error": "You already have 2 uploads in progress, the most at once. Finish or cancel"
        " one, or try again in 61 minutes, when the oldest is dropped."
    }
    # The oldest is dropped by the collector's sweep (once a minute) after an hour.
    assert 3600 < int(refused["Retry-After"]) <= 3660
    assert sorted(multipart_keys(transcoder_s3, object_store.bucket)) == sorted(
        k["key"] for k in kept
    )

    other, other_token = logged_in_client(user_make())
    assert _start(other, other_token, 10).status_code == 201  # a cap per person
    client.delete(f"{START}{kept[0]['id']}/", HTTP_X_CSRFTOKEN=token)
    assert _start(client, token, 10).status_code == 201


@pytest.mark.django_db
def test_the_site_caps_uploads_in_progress_across_people(settings, object_store, transcoder_s3):
    settings.SITE_OPEN_UPLOADS_MAX = 2
    for _ in range(2):
        assert _start(*logged_in_client(user_make()), 10).status_code == 201
    refused = _start(*logged_in_client(user_make()), 10)
    assert (refused.status_code, refused["Retry-After"], refused.json()) == (
        429,
        "60",
        {
            "error": "Too many uploads are in progress on the site right now."
            " Please try again in a minute."
        },
    )
    assert len(multipart_keys(transcoder_s3, object_store.bucket)) == 2


@pytest.mark.django_db
def test_the_site_quota_bounds_what_everyone_keeps_together(settings, object_store, transcoder_s3):
    settings.SITE_QUOTA_BYTES = 1000
    video, _ = video_with_job(owner=user_make())
    video.size_bytes = 400
    video.save()
    assert _start(*logged_in_client(user_make()), 300).status_code == 201
    someone = logged_in_client(user_make())
    refused = _start(*someone, 301)
    assert (refused.status_code, refused.json()) == (
        413,
        {
            "error": "The site's video storage is full: this upload needs 301 bytes but only"
            " 300 bytes is left for everyone. Please try again later."
        },
    )
    assert len(multipart_keys(transcoder_s3, object_store.bucket)) == 1
    assert _start(*someone, 300).status_code == 201


@pytest.mark.django_db(transaction=True)  # each request on its own connection, as in production
def test_starts_at_the_same_moment_cannot_share_the_room_only_one_has(
    live_server, settings, object_store, transcoder_s3
):
    settings.USER_QUOTA_BYTES = 200 * MiB
    browser = LiveSession.for_person(base_url=live_server.url, person=user_make())
    body = {"filename": "clip.mp4", "size": 150 * MiB, "content_type": "video/mp4"}
    together = threading.Barrier(5)

    def start() -> int:
        together.wait(timeout=30)
        return browser.send("POST", START, body).status

    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(lambda _: start(), range(5)))
    connections.close_all()

    assert Counter(statuses) == {201: 1, 413: 4}
    assert Upload.objects.count() == 1
    assert multipart_keys(transcoder_s3, object_store.bucket) == [Upload.objects.get().key]
